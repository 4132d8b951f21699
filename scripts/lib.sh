# shellcheck shell=bash
# Shared helpers of the test-service scripts (scripts/cluster/*.sh, scripts/containers/*.sh,
# scripts/services/*.sh). Source it after setting TAG (the log prefix, e.g. TAG=slurm):
#
#   TAG=slurm
#   . "$(dirname "$0")/../lib.sh"
#
# Functions:
#   log MSG…                      "[TAG] MSG" on stderr
#   die MSG…                      log "error: MSG", exit 1
#   require_root [WHY]            die unless root
#   state_root                    ${OSSRFLOW_CLUSTER_DIR:-/tmp/ossrflow-cluster}: every script's state
#   apt_install LOG PKG…          apt-get install only the missing PKGs, no daemon started by their
#                                 maintainer scripts, output in LOG (its tail shown on failure)
#   missing_debs PKG…             those PKGs not installed, one per line
#   pid_alive PIDFILE NAME        the pid in PIDFILE is a live process whose command is NAME
#   running PID                   the process exists and is no zombie
#   stop_pid PIDFILE NAME         TERM, wait up to 20 s, then KILL; removes PIDFILE
#   port_in_use PORT              something listens on TCP PORT
#   free_port                     a free TCP port on 127.0.0.1 (printed)
#   show_log FILE                 the last 15 lines of FILE on stderr
#   die_with_log FILE MSG…        the last 20 lines of FILE on stderr, then die MSG
#   wait_for [--pid PID] SECONDS WHAT LOGFILE CMD…
#                                 poll CMD every 0.5 s; fail with LOGFILE's tail after SECONDS, or as
#                                 soon as process PID has died

: "${TAG:=ossrflow}"
export DEBIAN_FRONTEND=noninteractive

log() { echo "[$TAG] $*" >&2; }

die() {
  log "error: $*"
  exit 1
}

# shellcheck disable=SC2120  # WHY is optional
require_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (${1:-it installs packages and starts system daemons})"
}

state_root() { echo "${OSSRFLOW_CLUSTER_DIR:-/tmp/ossrflow-cluster}"; }

# missing_debs PKG…: those not installed, one per line.
missing_debs() {
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      echo "$pkg"
    fi
  done
}

apt_install() {
  local aptlog=$1
  shift
  local -a missing
  mapfile -t missing < <(missing_debs "$@")
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  # shellcheck disable=SC2119  # the default reason
  require_root
  log "installing: ${missing[*]} (log: $aptlog)"
  # Keep maintainer scripts from starting daemons with their default configuration: a
  # policy-rc.d that answers 101 ("action forbidden"), only while installing and only if the
  # machine has none of its own. The lock timeout lets a concurrent apt-get finish first.
  local policy=/usr/sbin/policy-rc.d own_policy=0 rc=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
  fi
  mkdir -p "$(dirname "$aptlog")"
  {
    apt-get update -qq -o DPkg::Lock::Timeout=600 &&
      apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 \
        -o DPkg::Lock::Timeout=600 "${missing[@]}"
  } >"$aptlog" 2>&1 || rc=$?
  [ "$own_policy" -eq 0 ] || rm -f "$policy"
  if [ "$rc" -ne 0 ]; then
    die_with_log "$aptlog" "apt-get install failed (exit $rc) for: ${missing[*]}; full output in $aptlog"
  fi
  log "installed: ${missing[*]}"
}

pid_alive() {
  local pidfile=$1 name=$2 pid
  [ -s "$pidfile" ] || return 1
  pid="$(tr -dc '0-9' <"$pidfile")"
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$name" ]
}

running() {
  local state
  state="$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

stop_pid() {
  local pidfile=$1 name=$2 pid i
  if pid_alive "$pidfile" "$name"; then
    pid="$(tr -dc '0-9' <"$pidfile")"
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      running "$pid" || break
      sleep 0.2
    done
    if running "$pid"; then
      log "$name did not stop in 20 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
}

port_in_use() {
  ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

show_log() {
  if [ -f "$1" ]; then
    log "last lines of $1:"
    tail -n 15 "$1" | sed "s/^/[$TAG]   /" >&2
  fi
}

die_with_log() {
  local file=$1
  shift
  tail -n 20 "$file" | sed "s/^/[$TAG]   /" >&2
  die "$@"
}

wait_for() {
  local pid="" seconds what logfile i
  if [ "$1" = --pid ]; then
    pid=$2
    shift 2
  fi
  seconds=$1 what=$2 logfile=$3
  shift 3
  for ((i = 0; i < seconds * 2; i++)); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      log "error: $what exited during start-up; see $logfile"
      show_log "$logfile"
      exit 1
    fi
    sleep 0.5
  done
  log "error: $what not ready after ${seconds}s; see $logfile"
  show_log "$logfile"
  exit 1
}
