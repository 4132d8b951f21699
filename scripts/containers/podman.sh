#!/usr/bin/env bash
# Podman for ossrflow's container tests, as root, with no registry and no network in containers.
#
#   bash scripts/containers/podman.sh install  # apt-get Debian's podman, only if no podman binary
#   bash scripts/containers/podman.sh start    # install if needed, write the limits drop-in, check a run
#   bash scripts/containers/podman.sh stop     # remove the drop-in this script wrote (podman has no daemon)
#   bash scripts/containers/podman.sh status   # exit 0 and print the version if `podman info` works
#
# Podman needs no daemon. What it needs on this kind of VM: by default it asks the OCI runtime for
# RLIMIT_NOFILE 1048576 and RLIMIT_NPROC 32768 in every container, and the VM refuses
# (`error setting rlimit type 7/6: operation not permitted`). And crun, which podman prefers when
# installed, fails here (`crun: cgroups in hybrid mode not supported`), while runc works. `start`
# writes a containers.conf drop-in, /etc/containers/containers.conf.d/ossrflow-limits.conf, with
# limits this machine grants (its own hard nofile limit, and nproc half of min(hard nproc, 32768))
# and runtime = "runc". Storage stays podman's default (/var/lib/containers/storage as root).
# Idempotent. Must run as root.
set -euo pipefail

# shellcheck disable=SC2034  # the log prefix, read by lib.sh
TAG=podman
# shellcheck source-path=SCRIPTDIR source=../lib.sh disable=SC1091
. "$(dirname "$0")/../lib.sh"

DROPIN_DIR=/etc/containers/containers.conf.d
DROPIN="$DROPIN_DIR/ossrflow-limits.conf"
MARKER="# Written by ossrflow scripts/containers/podman.sh"

ROOT_WHY="it installs packages and writes /etc/containers"

cmd_install() {
  if command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1; then
    log "podman already installed: $(command -v podman)"
    return 0
  fi
  require_root "$ROOT_WHY"
  local started=$SECONDS
  log "installing Debian's podman and runc"
  # runc named first: podman's dependency "crun | runc" would otherwise bring crun.
  apt_install "$(state_root)/podman/apt.log" runc podman
  log "installed podman in $((SECONDS - started)) s"
}

write_dropin() {
  local nofile nproc
  nofile="$(ulimit -Hn)"
  nproc="$(ulimit -Hu)"
  [ "$nofile" = unlimited ] && nofile=1048576
  { [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; } && nproc=32768
  nproc=$((nproc / 2))
  if [ -e "$DROPIN" ] && ! grep -qF "$MARKER" "$DROPIN"; then
    die "$DROPIN exists and was not written by this script; remove it or merge the limits by hand"
  fi
  mkdir -p "$DROPIN_DIR"
  printf '%s\n[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n\n[engine]\nruntime = "runc"\n' \
    "$MARKER" "$nofile" "$nofile" "$nproc" "$nproc" >"$DROPIN.tmp"
  mv "$DROPIN.tmp" "$DROPIN"
  log "limits in $DROPIN: nofile=$nofile nproc=$nproc, runtime runc"
}

cmd_start() {
  cmd_install
  require_root "$ROOT_WHY"
  write_dropin
  podman info --format '{{.Version.Version}} {{.Store.GraphDriverName}}' >/dev/null \
    || die "podman info failed"
  log "podman $(podman version --format '{{.Client.Version}}') ready (no daemon needed)"
}

cmd_stop() {
  if [ -f "$DROPIN" ] && grep -qF "$MARKER" "$DROPIN"; then
    rm -f "$DROPIN"
    log "removed $DROPIN"
  else
    log "nothing to stop (podman has no daemon)"
  fi
}

cmd_status() {
  if command -v podman >/dev/null 2>&1 && [ -f "$DROPIN" ] \
    && podman info --format '{{.Version.Version}}' >/dev/null 2>&1; then
    echo "podman $(podman version --format '{{.Client.Version}}') with $DROPIN"
    return 0
  fi
  echo "podman not ready (run: bash $0 start)"
  return 1
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 install|start|stop|status" >&2
    exit 2
    ;;
esac
