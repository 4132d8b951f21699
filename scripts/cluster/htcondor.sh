#!/usr/bin/env bash
# Single-node HTCondor test pool for ossrflow's scheduler tests, in a Debian trixie chroot
# (Debian 12 has no HTCondor package; trixie has `condor`).
#
#   bash scripts/cluster/htcondor.sh install           # chroot, condor, nodejs, venv with ossrflow
#   bash scripts/cluster/htcondor.sh install-ossrflow  # reinstall ossrflow if its source changed
#   bash scripts/cluster/htcondor.sh start             # install if needed, mount, start condor_master
#   bash scripts/cluster/htcondor.sh stop              # stop the pool and unmount everything
#   bash scripts/cluster/htcondor.sh status            # exit 0 and print the slot states if the pool is up
#   bash scripts/cluster/htcondor.sh env               # print the variables a test needs (shell syntax)
#   bash scripts/cluster/htcondor.sh workdir           # make and print a /tmp dir the chroot user owns
#   bash scripts/cluster/htcondor.sh exec [--root] [-e NAME=VALUE]... -- CMD [ARG...]
#                                                      # run CMD inside the chroot (see below)
#
# Layout: the chroot is ${OSSRFLOW_CLUSTER_DIR:-/tmp/ossrflow-cluster}/htcondor/root. The daemons
# run as the unprivileged chroot user `ossrflow` (uid ${OSSRFLOW_HTCONDOR_UID:-2001}); the pool's
# configuration, logs, spool and execute dirs are under its home, /home/ossrflow/condor, and
# CONDOR_CONFIG=/home/ossrflow/condor/condor_config (paths as seen inside the chroot). All daemons
# bind to 127.0.0.1 (ports chosen by the kernel; the collector's is in the log dir).
#
# ossrflow in the chroot: `ossrflow run --profile htcondor` (and every job it submits) must run
# inside the chroot, so the venv holds this repository's ossrflow with its dependencies. The
# repository's files (those a clone with the working tree's changes has: git's tracked and
# untracked ones, not the ignored) are copied into the chroot, /opt/ossrflow-src, owned by the
# chroot user, and pip installs that copy (not editable): the repository itself may lie where that
# user cannot read (a home dir). A stamp in the venv holds the sha256 over the copied files' paths
# and contents; `install` and `start` (and so every test session) copy and reinstall only when the
# repository's files no longer match it (the check takes some 50 ms). nodejs (cwltool's JavaScript
# expressions) and bash (Snakemake's shell, job scripts) are installed in the chroot too.
#
# Shared paths: while the pool runs, /tmp and /work (plus the repository this script belongs to
# and any dir in OSSRFLOW_HTCONDOR_BINDS, space-separated) are bind-mounted into the chroot at the
# same paths, so a path means the same file inside and outside. The repository and those dirs are
# made reachable for the chroot user even below a dir it may not enter (a 0700 home or mktemp dir;
# see reach_dir); their own permissions are left as they are. `exec` runs CMD as `ossrflow` (root
# with --root) in the caller's working directory, which must be under one of those paths and, for
# Snakemake, writable by uid ${OSSRFLOW_HTCONDOR_UID:-2001}. Its environment is clean: PATH starts
# with the venv /opt/ossrflow-venv/bin (ossrflow, snakemake, the htcondor executor plugin),
# CONDOR_CONFIG is set, PYTHONPYCACHEPREFIX points into the user's home (the shared dirs need not
# be writable by that user), and the caller's OSSRFLOW_* and SNAKEMAKE_* variables are passed on.
#
# Never delete the state dir while the pool runs: the bind mounts would make `rm -rf` reach into
# /tmp and /work. `stop` unmounts them. Must run as root.
set -euo pipefail

# shellcheck disable=SC2034  # the log prefix, read by lib.sh
TAG=htcondor
# shellcheck source-path=SCRIPTDIR source=../lib.sh disable=SC1091
. "$(dirname "$0")/../lib.sh"

STATE_DIR="$(state_root)/htcondor"
ROOT="$STATE_DIR/root"
TIMEOUT="${OSSRFLOW_CLUSTER_TIMEOUT:-90}"
SUITE=trixie
CHROOT_USER=ossrflow
CHROOT_UID="${OSSRFLOW_HTCONDOR_UID:-2001}"
CHROOT_HOME="/home/$CHROOT_USER"
VENV=/opt/ossrflow-venv
PIP_PACKAGES="${OSSRFLOW_HTCONDOR_PIP_PACKAGES:-snakemake snakemake-executor-plugin-htcondor}"
CONDOR_DIR="$CHROOT_HOME/condor"             # inside the chroot
CONDOR_CONFIG_PATH="$CONDOR_DIR/condor_config" # inside the chroot
MASTER_PIDFILE="$CONDOR_DIR/run/condor_master.pid"
CHROOT_PATH="$VENV/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
INSTALLED_MARKER="$ROOT/.ossrflow-installed"
# Debian packages in the chroot: the pool, the venv, and what jobs run (bash: Snakemake's shell
# and job scripts; nodejs: cwltool's JavaScript expressions).
CHROOT_PACKAGES="condor python3-venv python3-pip ca-certificates bash nodejs"
# The copy of the repository that pip installs, and the stamp: the hash of that copy (see
# ossrflow_files).
OSSRFLOW_SRC=/opt/ossrflow-src           # inside the chroot
OSSRFLOW_STAMP="$VENV/.ossrflow-stamp" # inside the chroot
PYCACHE_DIR="$CHROOT_HOME/.cache/pycache" # inside the chroot
REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ROOT_WHY="debootstrap, chroot and mount need it"

# in_chroot CMD...: run CMD as root inside the chroot with a clean environment.
in_chroot() {
  chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 PATH="$CHROOT_PATH" \
    DEBIAN_FRONTEND=noninteractive "$@"
}

# as_user CMD...: run CMD as the unprivileged chroot user, with CONDOR_CONFIG set.
as_user() {
  chroot --userspec="$CHROOT_UID:$CHROOT_UID" "$ROOT" /usr/bin/env -i -C "$CHROOT_HOME" \
    HOME="$CHROOT_HOME" USER="$CHROOT_USER" LOGNAME="$CHROOT_USER" LANG=C.UTF-8 \
    PATH="$CHROOT_PATH" CONDOR_CONFIG="$CONDOR_CONFIG_PATH" "$@"
}

# user_can TEST-ARGS...: `test TEST-ARGS` as the chroot user inside the chroot (e.g. -x DIR).
user_can() {
  chroot --userspec="$CHROOT_UID:$CHROOT_UID" "$ROOT" /usr/bin/test "$@" 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
# mounts
# ---------------------------------------------------------------------------------------------

is_mounted() { mountpoint -q "$1" 2>/dev/null; }

# The host directories shared with the chroot at identical paths.
bind_dirs() {
  local d
  {
    echo /tmp
    echo /work
    echo "$REPO_DIR"
    for d in ${OSSRFLOW_HTCONDOR_BINDS:-}; do echo "$d"; done
  } | while read -r d; do
    [ -d "$d" ] && echo "$d"
  done | sort -u | awk '
    # drop a dir that lies inside another one of the list (it is visible through that one)
    { dirs[NR] = $0 } END {
      for (i = 1; i <= NR; i++) {
        keep = 1
        for (j = 1; j <= NR; j++)
          if (i != j && index(dirs[i], dirs[j] "/") == 1) keep = 0
        if (keep) print dirs[i]
      }
    }'
}

# mount_system: what apt and the daemons need: /proc, /sys, /dev (with /dev/pts and /dev/shm).
mount_system() {
  is_mounted "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  is_mounted "$ROOT/sys" || mount -t sysfs sysfs "$ROOT/sys"
  if ! is_mounted "$ROOT/dev"; then
    mount --rbind /dev "$ROOT/dev"
    mount --make-rslave "$ROOT/dev"
  fi
  # Name resolution inside the chroot follows the host's (it may change between runs).
  cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
  cp /etc/hosts "$ROOT/etc/hosts"
}

# The list of shared dirs is kept in the state dir, for `exec` (whose environment may lack
# the OSSRFLOW_HTCONDOR_BINDS that `start` saw).
SHARED_LIST="$STATE_DIR/shared-dirs"

shared_dirs() {
  if [ -s "$SHARED_LIST" ]; then
    cat "$SHARED_LIST"
  else
    bind_dirs
  fi
}

# bind_into_chroot DIR: DIR at the same path inside the chroot (nothing if it is there already).
bind_into_chroot() {
  local d=$1
  mkdir -p "$ROOT$d"
  if ! is_mounted "$ROOT$d"; then
    log "bind-mounting $d into the chroot"
    # Non-recursive and private: the chroot (itself under /tmp) does not show up again inside.
    mount --bind "$d" "$ROOT$d"
    mount --make-private "$ROOT$d"
  fi
}

# open_chroot_parents DIR: the chroot's own dirs above DIR, up to the next mount point (e.g. the
# chroot's /root, mode 0700, above a repository in /root/...), let the chroot user pass (o+x).
# Nothing of the host changes: at a mount point (a shared dir, a tmpfs) the walk stops.
open_chroot_parents() {
  local p=$1
  while p="$(dirname "$p")" && [ "$p" != / ] && ! is_mounted "$ROOT$p"; do
    if [ "$(($(stat -c '0%a' "$ROOT$p") & 1))" -eq 0 ]; then
      chmod o+x "$ROOT$p"
    fi
  done
}

# reach_dir DIR: DIR (the repository, an OSSRFLOW_HTCONDOR_BINDS dir), already visible in the
# chroot through its own bind mount or one of a parent (/tmp, /work), reachable for the chroot
# user. Through a parent's bind, a host dir on the way that the user may not enter (a mktemp -d or
# home dir, 0700) is covered, in the chroot only, by a small tmpfs holding just the path to DIR,
# and DIR is bind-mounted there (the user could see nothing below that dir before either). DIR's own
# permissions stay as they are: a warning says when the user cannot read it.
reach_dir() {
  local d=$1 top p rest part
  top="$(awk -v d="$d" '$0 == d || index(d, $0 "/") == 1 { print; exit }' "$SHARED_LIST")"
  [ -n "$top" ] || return 0
  open_chroot_parents "$top"
  p=$top rest=${d#"$top"}
  while [ -n "$rest" ]; do
    rest=${rest#/}
    part=${rest%%/*}
    rest=${rest#"$part"}
    [ -n "$rest" ] || break # DIR itself
    p=$p/$part
    is_mounted "$ROOT$p" && break # covered by an earlier reach_dir
    if ! user_can -x "$p"; then
      log "covering $p (closed to $CHROOT_USER) in the chroot with a tmpfs that leads to $d"
      mount -t tmpfs -o mode=0755,size=1m,nosuid,nodev ossrflow-path "$ROOT$p"
      mount --make-private "$ROOT$p"
      break
    fi
  done
  if ! [ "$ROOT$d" -ef "$d" ]; then
    bind_into_chroot "$d"
    open_chroot_parents "$d"
  fi
  if ! user_can -r "$d" -a -x "$d"; then
    log "warning: the chroot user $CHROOT_USER (uid $CHROOT_UID) cannot read $d (mode $(stat -c %a "$d")):" \
      "commands that \`exec\` runs there or that read files in it fail"
  fi
}

# The dirs that must be reachable for the chroot user: the repository (tests run `exec` in it
# and read its files) and the extra binds.
reach_dirs() {
  local d
  for d in "$REPO_DIR" ${OSSRFLOW_HTCONDOR_BINDS:-}; do
    [ -d "$d" ] && reach_dir "$d"
  done
  return 0
}

mount_shared() {
  local d
  bind_dirs >"$SHARED_LIST"
  while read -r d; do
    bind_into_chroot "$d"
  done <"$SHARED_LIST"
  reach_dirs
}

# share_repository: for a `start` while the pool is up (started from another checkout, maybe):
# this repository joins the shared dirs, unless it is shared already.
share_repository() {
  if ! shared_dirs | awk -v d="$REPO_DIR" '$0 == d || index(d, $0 "/") == 1 { found = 1 } END { exit !found }'; then
    shared_dirs >"$SHARED_LIST.new"
    echo "$REPO_DIR" >>"$SHARED_LIST.new"
    mv "$SHARED_LIST.new" "$SHARED_LIST"
    bind_into_chroot "$REPO_DIR"
  fi
  reach_dir "$REPO_DIR"
}

# unmount_all: every mount below the chroot, deepest first.
unmount_all() {
  [ -d "$ROOT" ] || return 0
  local m
  while read -r m; do
    [ -n "$m" ] || continue
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done < <(awk -v root="$ROOT" '$2 == root || index($2, root "/") == 1 { print $2 }' /proc/self/mounts | sort -r)
  if awk -v root="$ROOT" 'index($2, root "/") == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
    die "could not unmount everything below $ROOT; see /proc/self/mounts"
  fi
}

# ---------------------------------------------------------------------------------------------
# install
# ---------------------------------------------------------------------------------------------

# debian_mirror: the Debian mirror from this machine's own apt sources (one-line .list and deb822
# .sources files), else OSSRFLOW_DEBIAN_MIRROR, else deb.debian.org.
debian_mirror() {
  if [ -n "${OSSRFLOW_DEBIAN_MIRROR:-}" ]; then
    echo "$OSSRFLOW_DEBIAN_MIRROR"
    return 0
  fi
  local files=() f uri=""
  [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && files+=("$f")
  done
  if [ "${#files[@]}" -gt 0 ]; then
    # A main archive URI ends in /debian (not /debian-security, not a third-party repository).
    uri="$(awk '
      /^[[:space:]]*#/ { next }
      # one-line format: deb [options] URI suite components
      $1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\/.*\/debian\/?$/) { print $i; exit } }
      # deb822 format: URIs: URI...
      tolower($1) == "uris:" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\/.*\/debian\/?$/) { print $i; exit } }
    ' "${files[@]}" | head -n 1)"
  fi
  if [ -z "$uri" ]; then
    uri=http://deb.debian.org/debian
    log "no Debian mirror found in the apt sources; using $uri"
  fi
  echo "${uri%/}"
}

ensure_host_tools() {
  if command -v debootstrap >/dev/null; then
    return 0
  fi
  apt_install "$STATE_DIR/apt-host.log" debootstrap
}

bootstrap_root() {
  if [ -f "$ROOT/.ossrflow-bootstrapped" ]; then
    log "chroot $ROOT already bootstrapped"
    return 0
  fi
  local mirror
  mirror="$(debian_mirror)"
  # A half-made root from an interrupted run is thrown away (after making sure that nothing of
  # the host is mounted in it).
  if [ -e "$ROOT" ]; then
    unmount_all
    rm -rf --one-file-system "$ROOT"
  fi
  mkdir -p "$STATE_DIR"
  log "debootstrap --variant=minbase $SUITE from $mirror (log: $STATE_DIR/debootstrap.log)"
  debootstrap --variant=minbase "$SUITE" "$ROOT" "$mirror" >"$STATE_DIR/debootstrap.log" 2>&1 ||
    die_with_log "$STATE_DIR/debootstrap.log" "debootstrap failed; see $STATE_DIR/debootstrap.log"
  touch "$ROOT/.ossrflow-bootstrapped"
}

# missing_packages: those of CHROOT_PACKAGES not installed in the chroot (one per line).
missing_packages() {
  local installed pkg
  # shellcheck disable=SC2016,SC2086  # dpkg-query's format, not an expansion; a list of names
  installed="$(in_chroot dpkg-query -W -f='${Package} ${Status}\n' $CHROOT_PACKAGES 2>/dev/null |
    awk '/ install ok installed$/ { print $1 }' || true)"
  for pkg in $CHROOT_PACKAGES; do
    grep -qx "$pkg" <<<"$installed" || echo "$pkg"
  done
}

# install_packages: CHROOT_PACKAGES, only when one is missing (e.g. nodejs in an older chroot).
install_packages() {
  local missing
  missing="$(missing_packages | tr '\n' ' ')"
  if [ -z "${missing// /}" ]; then
    log "$CHROOT_PACKAGES already installed in the chroot"
    return 0
  fi
  # No package in the chroot may start a daemon while it is installed.
  printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
  chmod 755 "$ROOT/usr/sbin/policy-rc.d"
  log "apt-get install ${missing% } in the chroot (log: $STATE_DIR/apt.log)"
  # shellcheck disable=SC2086  # a list of package names
  if ! {
    in_chroot apt-get update -qq &&
      in_chroot apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 $missing
  } >"$STATE_DIR/apt.log" 2>&1; then
    die_with_log "$STATE_DIR/apt.log" "apt-get install in the chroot failed; see $STATE_DIR/apt.log"
  fi
}

# The host's extra CA certificates (e.g. of an HTTPS proxy) and pip configuration, so that pip in
# the chroot reaches PyPI as the host's does.
copy_host_config() {
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    mkdir -p "$ROOT/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
    in_chroot update-ca-certificates >/dev/null 2>&1 || die "update-ca-certificates failed in the chroot"
  fi
  if [ -f /etc/pip.conf ]; then
    cp /etc/pip.conf "$ROOT/etc/pip.conf"
  fi
}

create_user() {
  if in_chroot id -u "$CHROOT_USER" >/dev/null 2>&1; then
    return 0
  fi
  log "creating the chroot user $CHROOT_USER (uid $CHROOT_UID)"
  in_chroot groupadd -g "$CHROOT_UID" "$CHROOT_USER"
  in_chroot useradd -m -u "$CHROOT_UID" -g "$CHROOT_USER" -s /bin/bash "$CHROOT_USER"
}

# The venv belongs to the chroot user, so that `exec -- pip install ...` can add packages to it.
create_venv() {
  if [ -x "$ROOT$VENV/bin/snakemake" ]; then
    log "venv $VENV already has snakemake"
    return 0
  fi
  log "creating $VENV in the chroot with: $PIP_PACKAGES (log: $STATE_DIR/pip.log)"
  rm -rf "${ROOT:?}$VENV"
  install -d -o "$CHROOT_UID" -g "$CHROOT_UID" "$ROOT$VENV"
  # shellcheck disable=SC2086  # PIP_PACKAGES is a list of requirement specifiers
  if ! {
    as_user python3 -m venv "$VENV" &&
      as_user "$VENV/bin/pip" install --quiet --upgrade pip &&
      as_user "$VENV/bin/pip" install --quiet $PIP_PACKAGES
  } >"$STATE_DIR/pip.log" 2>&1; then
    die_with_log "$STATE_DIR/pip.log" "pip install in the chroot failed; see $STATE_DIR/pip.log"
  fi
}

# ossrflow_files: the repository's files as a fresh clone with the working tree's changes would
# have them: tracked and untracked ones, without what .gitignore excludes (a venv, caches,
# bytecode, run dirs). Relative paths, NUL-separated, sorted. Not a git checkout (or git refuses
# it): every file but .git, .venv, caches and bytecode.
ossrflow_files() {
  (
    cd "$REPO_DIR" || exit 1
    local f
    if ! git -c safe.directory="$PWD" ls-files -z --cached --others --exclude-standard --deduplicate 2>/dev/null; then
      find . \( -name .git -o -name .venv -o -name __pycache__ -o -name '.*_cache' -o -name '*.egg-info' \) -prune \
        -o -type f ! -name '*.py[co]' -print0
    fi | while IFS= read -r -d '' f; do
      # a deleted file git still lists; a submodule (a dir)
      [ -f "$f" ] && printf '%s\0' "${f#./}"
    done | LC_ALL=C sort -z
  )
}

# files_hash DIR <LIST: sha256 over `sha256sum` of the files in LIST (NUL-separated, relative to
# DIR): their paths and contents.
files_hash() {
  (cd "$1" && xargs -0 -r sha256sum --) | sha256sum | cut -d' ' -f1
}

# ossrflow_current: whether the venv's ossrflow was built from files like the repository's now.
ossrflow_current() {
  [ -x "$ROOT$VENV/bin/ossrflow" ] &&
    [ "$(cat "$ROOT$OSSRFLOW_STAMP" 2>/dev/null)" = "$(ossrflow_files | files_hash "$REPO_DIR")" ]
}

# copy_ossrflow LIST: the repository's files named in LIST (see ossrflow_files) into the chroot,
# fresh, owned by the chroot user (so that pip may write build leftovers there, and whatever the
# repository's modes, it can read them).
copy_ossrflow() {
  local list=$1 dest="$ROOT$OSSRFLOW_SRC"
  rm -rf "$dest"
  install -d -o "$CHROOT_UID" -g "$CHROOT_UID" -m 0755 "$dest"
  (cd "$REPO_DIR" && tar --null -T "$list" -cf -) | tar -C "$dest" --no-same-owner -xf - ||
    die "copying $REPO_DIR to $dest failed"
  chown -R "$CHROOT_UID:$CHROOT_UID" "$dest"
  chmod -R u+rwX,go+rX "$dest"
}

# install_ossrflow: this repository's ossrflow, from a copy in the chroot and with its
# dependencies, in the venv; an import and command check; then the stamp (the copy's hash).
# The check names no module inside ossrflow, which may move: the package, the job runner
# (cwltool), the executor plugin and the `ossrflow` command.
install_ossrflow() {
  log "pip install ossrflow from a copy of $REPO_DIR ($OSSRFLOW_SRC in the chroot) in $VENV" \
    "(log: $STATE_DIR/pip-ossrflow.log)"
  rm -f "$ROOT$OSSRFLOW_STAMP"
  [ -f "$REPO_DIR/pyproject.toml" ] || die "$REPO_DIR has no pyproject.toml"
  local list="$STATE_DIR/ossrflow-files" stamp
  ossrflow_files >"$list"
  copy_ossrflow "$list"
  stamp="$(files_hash "$ROOT$OSSRFLOW_SRC" <"$list")"
  # Uninstalled first: pip would keep an installed ossrflow of the same version.
  if ! {
    as_user "$VENV/bin/pip" uninstall --quiet --yes ossrflow &&
      as_user "$VENV/bin/pip" install --quiet "$OSSRFLOW_SRC" &&
      as_user "$VENV/bin/python" -c 'import ossrflow, cwltool.main, snakemake_executor_plugin_htcondor' &&
      as_user "$VENV/bin/ossrflow" --version
  } >"$STATE_DIR/pip-ossrflow.log" 2>&1; then
    die_with_log "$STATE_DIR/pip-ossrflow.log" \
      "installing ossrflow in the chroot failed; see $STATE_DIR/pip-ossrflow.log"
  fi
  echo "$stamp" >"$ROOT$OSSRFLOW_STAMP"
}

# install_base: the chroot with condor and a snakemake venv (each step only once).
install_base() {
  if [ -f "$INSTALLED_MARKER" ] && [ -x "$ROOT$VENV/bin/snakemake" ]; then
    log "chroot $ROOT with condor and a snakemake venv already installed"
    mount_system
    install_packages # packages added to the list since (e.g. nodejs)
    return 0
  fi
  ensure_host_tools
  bootstrap_root
  mount_system
  install_packages
  copy_host_config
  create_user
  create_venv
  touch "$INSTALLED_MARKER"
}

# ensure_ossrflow: install_ossrflow unless the stamp matches (no shared dir needs to be mounted).
ensure_ossrflow() {
  if ossrflow_current; then
    log "ossrflow from $REPO_DIR already installed in $VENV"
    return 0
  fi
  install_ossrflow
}

cmd_install() {
  require_root "$ROOT_WHY"
  local t0=$SECONDS
  install_base
  ensure_ossrflow
  # A standalone install leaves nothing mounted; a running pool keeps its mounts.
  master_pid >/dev/null || unmount_all
  log "installed in $((SECONDS - t0))s ($(du -sh --one-file-system "$ROOT" | cut -f1))"
}

# install-ossrflow: only the last step of install (missing chroot packages, then ossrflow).
cmd_install_ossrflow() {
  require_root "$ROOT_WHY"
  [ -f "$INSTALLED_MARKER" ] || die "the chroot is not installed (run: $0 install)"
  mount_system
  install_packages
  ensure_ossrflow
  master_pid >/dev/null || unmount_all
}

# ---------------------------------------------------------------------------------------------
# start, stop, status
# ---------------------------------------------------------------------------------------------

write_condor_config() {
  local cpus mem_mb
  cpus="$(nproc)"
  mem_mb="$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)"
  install -d -o "$CHROOT_UID" -g "$CHROOT_UID" "$ROOT$CONDOR_DIR"
  local d
  for d in log spool execute lock run cred_dir; do
    install -d -o "$CHROOT_UID" -g "$CHROOT_UID" "$ROOT$CONDOR_DIR/$d"
  done
  cat >"$ROOT$CONDOR_CONFIG_PATH" <<EOF
# Written by ossrflow scripts/cluster/htcondor.sh; rewritten on every start.
# Standalone: Debian's /etc/condor/condor_config and config.d are not read. The install paths
# are those of Debian's condor package.
RELEASE_DIR = /usr
BIN = \$(RELEASE_DIR)/bin
SBIN = \$(RELEASE_DIR)/sbin
LIB = \$(RELEASE_DIR)/lib/condor
LIBEXEC = \$(RELEASE_DIR)/libexec/condor
SHARE = \$(RELEASE_DIR)/share/condor
INCLUDE = \$(RELEASE_DIR)/include/condor
ETC = /etc/condor

LOCAL_DIR = $CONDOR_DIR
LOG = \$(LOCAL_DIR)/log
SPOOL = \$(LOCAL_DIR)/spool
EXECUTE = \$(LOCAL_DIR)/execute
LOCK = \$(LOCAL_DIR)/lock
RUN = \$(LOCAL_DIR)/run
CRED_STORE_DIR = \$(LOCAL_DIR)/cred_dir

CONDOR_HOST = 127.0.0.1
NETWORK_INTERFACE = 127.0.0.1
BIND_ALL_INTERFACES = False
use ROLE : Personal
CONDOR_IDS = $CHROOT_UID.$CHROOT_UID
UID_DOMAIN = localhost
FILESYSTEM_DOMAIN = localhost
START = TRUE
SUSPEND = FALSE
PREEMPT = FALSE
KILL = FALSE
NUM_CPUS = $cpus
MEMORY = $mem_mb

# Short cycles: a test job is matched within seconds.
NEGOTIATOR_INTERVAL = 2
NEGOTIATOR_MIN_INTERVAL = 1
NEGOTIATOR_CYCLE_DELAY = 1
SCHEDD_INTERVAL = 2
UPDATE_INTERVAL = 2
STARTER_UPDATE_INTERVAL = 2
SHADOW_QUEUE_UPDATE_INTERVAL = 2

SEC_DEFAULT_AUTHENTICATION = REQUIRED
SEC_DEFAULT_AUTHENTICATION_METHODS = FS, CLAIMTOBE
SEC_CLIENT_AUTHENTICATION_METHODS = FS, CLAIMTOBE
ALLOW_READ = *
ALLOW_WRITE = *
ALLOW_NEGOTIATOR = *
ALLOW_ADMINISTRATOR = *
ALLOW_DAEMON = *
EOF
  chown "$CHROOT_UID:$CHROOT_UID" "$ROOT$CONDOR_CONFIG_PATH"
}

master_pid() {
  local pid
  pid_alive "$ROOT$MASTER_PIDFILE" condor_master || return 1
  pid="$(tr -dc '0-9' <"$ROOT$MASTER_PIDFILE")"
  running "$pid" && echo "$pid"
}

slot_states() {
  as_user condor_status -af State 2>/dev/null
}

# slot_summary: e.g. "1 Unclaimed" or "1 Claimed, 1 Unclaimed".
slot_summary() {
  slot_states | sort | uniq -c | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }'
}

pool_ready() {
  slot_states | grep -qE '^(Unclaimed|Claimed)$'
}

# Processes whose root directory is the chroot (the daemons and any job still running).
chroot_pids() {
  local p link
  for p in /proc/[0-9]*; do
    link="$(readlink "$p/root" 2>/dev/null)" || continue
    if [ "$link" = "$ROOT" ]; then
      echo "${p#/proc/}"
    fi
  done
}

cmd_start() {
  require_root "$ROOT_WHY"
  if master_pid >/dev/null && pool_ready; then
    install_packages
    share_repository
    ensure_ossrflow
    log "already running ($(slot_summary))"
    return 0
  fi
  [ -f "$INSTALLED_MARKER" ] || cmd_install
  local t0=$SECONDS
  stop_pool
  mount_system
  mount_shared
  install_packages
  ensure_ossrflow
  write_condor_config
  rm -f "$ROOT$MASTER_PIDFILE"
  log "starting condor_master as $CHROOT_USER (CONDOR_CONFIG=$CONDOR_CONFIG_PATH inside the chroot)"
  as_user condor_master -pidfile "$MASTER_PIDFILE"
  local i log_file="$ROOT$CONDOR_DIR/log/MasterLog"
  log "waiting (up to ${TIMEOUT}s) for an Unclaimed slot"
  for ((i = 0; i < TIMEOUT * 2; i++)); do
    if pool_ready; then
      log "up in $((SECONDS - t0))s: $(slot_summary) (logs in $ROOT$CONDOR_DIR/log)"
      return 0
    fi
    if [ "$i" -gt 4 ] && ! master_pid >/dev/null; then
      log "error: condor_master exited during start-up; see $log_file"
      show_log "$log_file"
      exit 1
    fi
    sleep 0.5
  done
  log "error: no Unclaimed slot after ${TIMEOUT}s; see $log_file and $ROOT$CONDOR_DIR/log/StartLog"
  show_log "$log_file"
  show_log "$ROOT$CONDOR_DIR/log/StartLog"
  exit 1
}

stop_pool() {
  local pid i
  if pid="$(master_pid)"; then
    log "stopping condor_master (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
      running "$pid" || break
      sleep 0.2
    done
  fi
  # Whatever still runs inside the chroot (a daemon that missed the shutdown, a job) is killed.
  local left
  left="$(chroot_pids | tr '\n' ' ')"
  if [ -n "${left// /}" ]; then
    log "killing processes left in the chroot: $left"
    # shellcheck disable=SC2086  # a list of pids
    kill -KILL $left 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$ROOT$MASTER_PIDFILE"
  unmount_all
}

cmd_stop() {
  require_root "$ROOT_WHY"
  stop_pool
  log "stopped"
}

cmd_status() {
  local pid rc=1
  if pid="$(master_pid)"; then
    echo "condor_master: running (pid $pid)"
    echo "slots: $(slot_summary || true)"
    if pool_ready; then
      rc=0
    fi
  else
    echo "condor_master: not running"
  fi
  if [ "$rc" -eq 0 ]; then
    echo "htcondor: up"
  else
    echo "htcondor: down"
  fi
  return "$rc"
}

cmd_env() {
  cat <<EOF
export OSSRFLOW_HTCONDOR_ROOT='$ROOT'
export OSSRFLOW_HTCONDOR_USER='$CHROOT_USER'
export OSSRFLOW_HTCONDOR_UID='$CHROOT_UID'
export OSSRFLOW_HTCONDOR_VENV='$VENV'
export OSSRFLOW_HTCONDOR_CONDOR_CONFIG='$CONDOR_CONFIG_PATH'
export OSSRFLOW_HTCONDOR_EXEC='bash $REPO_DIR/scripts/cluster/htcondor.sh exec --'
EOF
}

# workdir: a new empty dir under /tmp that the chroot user owns, for a test's Snakemake run
# (pytest's own tmp dirs live in /tmp/pytest-of-root, mode 0700, which that user cannot enter).
cmd_workdir() {
  require_root "$ROOT_WHY"
  local dir
  dir="$(mktemp -d /tmp/ossrflow-htcondor-work.XXXXXX)"
  chown "$CHROOT_UID:$CHROOT_UID" "$dir"
  chmod 755 "$dir"
  echo "$dir"
}

# exec [--root] [-e NAME=VALUE]... -- CMD...: CMD inside the chroot, in the caller's working dir.
cmd_exec() {
  require_root "$ROOT_WHY"
  local as_root=0 extra=()
  while [ $# -gt 0 ]; do
    case $1 in
      --root) as_root=1 ;;
      -e) extra+=("$2") && shift ;;
      --) shift && break ;;
      *) break ;;
    esac
    shift
  done
  [ $# -gt 0 ] || die "exec: no command given (usage: exec [--root] [-e NAME=VALUE]... -- CMD...)"
  is_mounted "$ROOT/proc" || die "the pool is not started (run: $0 start)"
  local cwd
  cwd="$(pwd -P)"
  if ! shared_dirs | awk -v d="$cwd" '$0 == d || index(d, $0 "/") == 1 { found = 1 } END { exit !found }'; then
    die "the working directory $cwd is not shared with the chroot; shared: $(shared_dirs | tr '\n' ' ')(add more with OSSRFLOW_HTCONDOR_BINDS before start)"
  fi
  local vars=(LANG=C.UTF-8 PATH="$CHROOT_PATH" CONDOR_CONFIG="$CONDOR_CONFIG_PATH")
  local name
  while read -r name; do
    vars+=("$name=${!name}")
  done < <(compgen -e | grep -E '^(OSSRFLOW_|SNAKEMAKE_)' || true)
  [ -z "${TERM:-}" ] || vars+=("TERM=$TERM")
  if [ "$as_root" -eq 1 ]; then
    exec chroot "$ROOT" /usr/bin/env -i -C "$cwd" HOME=/root USER=root LOGNAME=root \
      "${vars[@]}" "${extra[@]}" "$@"
  fi
  # Python keeps its bytecode in the user's home: the repository is not writable by that user.
  exec chroot --userspec="$CHROOT_UID:$CHROOT_UID" "$ROOT" /usr/bin/env -i -C "$cwd" \
    HOME="$CHROOT_HOME" USER="$CHROOT_USER" LOGNAME="$CHROOT_USER" \
    PYTHONPYCACHEPREFIX="$PYCACHE_DIR" "${vars[@]}" "${extra[@]}" "$@"
}

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

case "${1:-}" in
  install) cmd_install ;;
  install-ossrflow) cmd_install_ossrflow ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  workdir) cmd_workdir ;;
  exec)
    shift
    cmd_exec "$@"
    ;;
  *) usage ;;
esac
