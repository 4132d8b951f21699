#!/usr/bin/env bash
# A Docker daemon for ossrflow's container tests (no registry, no network inside containers).
#
#   bash scripts/containers/dockerd.sh install  # apt-get Debian's docker.io, only if no dockerd binary
#   bash scripts/containers/dockerd.sh start    # install if needed, start dockerd, wait for `docker info`
#   bash scripts/containers/dockerd.sh stop     # stop the dockerd this script started (by its pid file)
#   bash scripts/containers/dockerd.sh status   # exit 0 and print the server version if a daemon answers
#
# The preinstalled `docker` is a client only. dockerd runs with its own data root, exec root and
# pid file under ${OSSRFLOW_CLUSTER_DIR:-/tmp/ossrflow-cluster}/docker, with --bridge=none
# --iptables=false --ip-masq=false (containers get no network: there is no registry to reach
# anyway). It serves the default socket /var/run/docker.sock; when another daemon already answers
# there, `start` uses that one and starts nothing. Idempotent. Must run as root.
#
# Environment: OSSRFLOW_CLUSTER_DIR (state root), OSSRFLOW_CLUSTER_TIMEOUT (seconds to wait, default 60).
set -euo pipefail

# shellcheck disable=SC2034  # the log prefix, read by lib.sh
TAG=dockerd
# shellcheck source-path=SCRIPTDIR source=../lib.sh disable=SC1091
. "$(dirname "$0")/../lib.sh"

STATE_DIR="$(state_root)/docker"
TIMEOUT="${OSSRFLOW_CLUSTER_TIMEOUT:-60}"
SOCKET=/var/run/docker.sock
PIDFILE="$STATE_DIR/dockerd.pid"
LOG="$STATE_DIR/dockerd.log"

ROOT_WHY="it installs packages and starts a system daemon"

answers() { docker -H "unix://$SOCKET" info --format '{{.ServerVersion}}' 2>/dev/null; }

our_pid() {
  pid_alive "$PIDFILE" dockerd && tr -dc '0-9' <"$PIDFILE"
}

cmd_install() {
  if command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1; then
    log "dockerd already installed: $(command -v dockerd)"
    return 0
  fi
  require_root "$ROOT_WHY"
  local started=$SECONDS
  log "installing Debian's docker.io"
  apt_install "$STATE_DIR/apt.log" docker.io
  log "installed docker.io in $((SECONDS - started)) s"
}

cmd_start() {
  local version
  if version="$(answers)"; then
    log "a daemon already answers on $SOCKET (server $version)"
    return 0
  fi
  cmd_install
  require_root "$ROOT_WHY"
  [ ! -S "$SOCKET" ] || rm -f "$SOCKET"  # stale socket of a daemon that is gone
  mkdir -p "$STATE_DIR/data" "$STATE_DIR/exec"
  local started=$SECONDS
  log "starting dockerd (state in $STATE_DIR)"
  # setsid: the daemon must outlive this script and not get the caller's terminal signals. (A
  # background job of a script is no process-group leader, so setsid execs: $! is dockerd.)
  setsid dockerd \
    --host "unix://$SOCKET" \
    --data-root "$STATE_DIR/data" \
    --exec-root "$STATE_DIR/exec" \
    --pidfile "$PIDFILE" \
    --bridge=none --iptables=false --ip-masq=false \
    </dev/null >>"$LOG" 2>&1 &
  wait_for --pid $! "$TIMEOUT" dockerd "$LOG" answers
  log "dockerd $(answers) up in $((SECONDS - started)) s"
}

cmd_stop() {
  local pid
  if ! pid="$(our_pid)"; then
    log "no dockerd started by this script is running"
    return 0
  fi
  log "stopping dockerd (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 100); do
    running "$pid" || {
      log "stopped"
      return 0
    }
    sleep 0.2
  done
  die "dockerd (pid $pid) did not stop within 20 s"
}

cmd_status() {
  local version
  if version="$(answers)"; then
    echo "docker server $version on $SOCKET"
    return 0
  fi
  echo "no docker daemon answers on $SOCKET"
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
