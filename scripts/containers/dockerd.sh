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

export DEBIAN_FRONTEND=noninteractive
STATE_DIR="${OSSRFLOW_CLUSTER_DIR:-/tmp/ossrflow-cluster}/docker"
TIMEOUT="${OSSRFLOW_CLUSTER_TIMEOUT:-60}"
SOCKET=/var/run/docker.sock
PIDFILE="$STATE_DIR/dockerd.pid"
LOG="$STATE_DIR/dockerd.log"

log() { echo "[dockerd] $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

require_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages and starts a system daemon)"
}

answers() { docker -H "unix://$SOCKET" info --format '{{.ServerVersion}}' 2>/dev/null; }

our_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

cmd_install() {
  if command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1; then
    log "dockerd already installed: $(command -v dockerd)"
    return 0
  fi
  require_root
  local started=$SECONDS
  log "installing Debian's docker.io"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null
  log "installed docker.io in $((SECONDS - started)) s"
}

cmd_start() {
  local version
  if version="$(answers)"; then
    log "a daemon already answers on $SOCKET (server $version)"
    return 0
  fi
  cmd_install
  require_root
  [ ! -S "$SOCKET" ] || rm -f "$SOCKET"  # stale socket of a daemon that is gone
  mkdir -p "$STATE_DIR/data" "$STATE_DIR/exec"
  local started=$SECONDS
  log "starting dockerd (state in $STATE_DIR)"
  # setsid: the daemon must outlive this script and not get the caller's terminal signals.
  setsid dockerd \
    --host "unix://$SOCKET" \
    --data-root "$STATE_DIR/data" \
    --exec-root "$STATE_DIR/exec" \
    --pidfile "$PIDFILE" \
    --bridge=none --iptables=false --ip-masq=false \
    </dev/null >>"$LOG" 2>&1 &
  local deadline=$((SECONDS + TIMEOUT))
  until version="$(answers)"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 20 "$LOG" >&2 || true
      die "dockerd did not answer within $TIMEOUT s (log: $LOG)"
    fi
    sleep 0.2
  done
  log "dockerd $version up in $((SECONDS - started)) s"
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
    kill -0 "$pid" 2>/dev/null || {
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
