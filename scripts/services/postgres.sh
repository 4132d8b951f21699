#!/usr/bin/env bash
# PostgreSQL for the tests of `ossrflow serve`: one cluster of its own, on 127.0.0.1 only.
#
#   bash scripts/services/postgres.sh install  # apt-get Debian's postgresql (only if missing)
#   bash scripts/services/postgres.sh start    # install if needed, initdb once, start, create role + db
#   bash scripts/services/postgres.sh stop     # stop the postgres this script started (its data dir)
#   bash scripts/services/postgres.sh status   # exit 0 and print the address if it answers
#   bash scripts/services/postgres.sh env      # print OSSRFLOW_TEST_POSTGRES_URL=postgresql+psycopg://…
#
# What runs: Debian's postgres binary (the newest /usr/lib/postgresql/*/bin), as the postgres user,
# on a cluster of its own in the state dir, ${OSSRFLOW_CLUSTER_DIR:-/tmp/ossrflow-cluster}/postgres:
#   data/        the cluster (initdb once; Debian's own cluster "main" is never touched)
#   run/         its Unix socket (not /var/run/postgresql, so it never meets Debian's cluster)
#   log/         postgres.log (server), pg_ctl.log, initdb.log, apt.log
#   port         the TCP port, chosen free at the first start and kept for later starts
#   password     the password of role ossrflow (random, mode 600)
#   postgres.pid the postmaster's pid, so that `stop` only stops what `start` started
# It listens on 127.0.0.1 only; TCP logins need the password (scram-sha-256), the Unix socket
# admits only the postgres user (peer). Role ossrflow owns database ossrflow and may CREATEDB (a
# database per pytest-xdist worker). The cluster is a throwaway for tests: fsync is off.
#
# `env` prints the SQLAlchemy URL for the psycopg 3 driver (`pip install 'psycopg[binary]'`):
#   export "$(bash scripts/services/postgres.sh env)"
#
# Environment: OSSRFLOW_CLUSTER_DIR (state root), OSSRFLOW_POSTGRES_TIMEOUT (seconds to wait for
# the server, default 60). Must run as root (it installs packages and switches to postgres).
set -euo pipefail

# shellcheck disable=SC2034  # the log prefix, read by lib.sh
TAG=postgres
# shellcheck source-path=SCRIPTDIR source=../lib.sh disable=SC1091
. "$(dirname "$0")/../lib.sh"

STATE_DIR="$(state_root)/postgres"
DATA_DIR="$STATE_DIR/data"
RUN_DIR="$STATE_DIR/run"
LOG_DIR="$STATE_DIR/log"
LOG_FILE="$LOG_DIR/postgres.log"
CTL_LOG="$LOG_DIR/pg_ctl.log"
PORT_FILE="$STATE_DIR/port"
PASS_FILE="$STATE_DIR/password"
PID_FILE="$STATE_DIR/postgres.pid"
TIMEOUT="${OSSRFLOW_POSTGRES_TIMEOUT:-60}"
DB_NAME=ossrflow
DB_USER=ossrflow
PACKAGES=(postgresql)

# The newest installed server's bin dir (Debian 12: /usr/lib/postgresql/15/bin).
pg_bindir() {
  local dir
  dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$dir" ] && [ -x "$dir/postgres" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

# as_postgres CMD…: run CMD as the postgres user, from a directory it may enter.
as_postgres() {
  (cd / && runuser -u postgres -- "$@")
}

# psql as the superuser over the cluster's own Unix socket (peer authentication).
pg_sql() {
  as_postgres "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN_DIR" -p "$PORT" -U postgres -d postgres
}

# Copy the postmaster's pid (first line of data/postmaster.pid) to the state dir's pid file.
record_pid() {
  [ -s "$DATA_DIR/postmaster.pid" ] && head -n 1 "$DATA_DIR/postmaster.pid" >"$PID_FILE"
}

server_alive() {
  pid_alive "$PID_FILE" postgres
}

answering() {
  [ -s "$PORT_FILE" ] && "$BIN/pg_isready" -q -h 127.0.0.1 -p "$(cat "$PORT_FILE")" -t 2
}

# ---------------------------------------------------------------------------------------------

cmd_install() {
  mkdir -p "$LOG_DIR"
  apt_install "$LOG_DIR/apt.log" "${PACKAGES[@]}"
  BIN="$(pg_bindir)" || die "no PostgreSQL server under /usr/lib/postgresql/*/bin after installing ${PACKAGES[*]}"
  log "PostgreSQL $("$BIN/postgres" --version | awk '{ print $3 }') in $BIN"
}

prepare_dirs() {
  mkdir -p "$STATE_DIR" "$LOG_DIR" "$RUN_DIR"
  # The postgres user must traverse the state root; the data dir must be its own, mode 700.
  chmod 755 "$(state_root)" "$STATE_DIR"
  chown postgres:postgres "$RUN_DIR" "$LOG_DIR"
  chmod 755 "$RUN_DIR" "$LOG_DIR"
  runuser -u postgres -- test -x "$STATE_DIR" ||
    die "the postgres user cannot enter $STATE_DIR; set OSSRFLOW_CLUSTER_DIR to a directory it can reach (e.g. under /tmp)"
}

# Reuse the port of the previous start when it is still free; else take a free one and keep it.
choose_port() {
  local port=""
  if [ -s "$PORT_FILE" ]; then
    port="$(tr -dc '0-9' <"$PORT_FILE")"
    if [ -n "$port" ] && port_in_use "$port"; then
      log "warning: port $port of the previous start is taken by another process; choosing a new one"
      port=""
    fi
  fi
  if [ -z "$port" ]; then
    port="$(free_port)"
    echo "$port" >"$PORT_FILE"
  fi
  PORT=$port
}

init_cluster() {
  [ -s "$DATA_DIR/PG_VERSION" ] && return 0
  log "initialising a cluster in $DATA_DIR (log: $LOG_DIR/initdb.log)"
  rm -rf "$DATA_DIR"
  install -d -o postgres -g postgres -m 0700 "$DATA_DIR"
  as_postgres "$BIN/initdb" -D "$DATA_DIR" -U postgres -E UTF8 --no-locale \
    --auth-local=peer --auth-host=scram-sha-256 >"$LOG_DIR/initdb.log" 2>&1 || {
    show_log "$LOG_DIR/initdb.log"
    die "initdb failed; see $LOG_DIR/initdb.log"
  }
}

# The cluster's settings, rewritten on every start (the port may have changed). postgresql.conf
# includes this file once; settings given here win over the defaults above the include.
write_conf() {
  local conf="$DATA_DIR/ossrflow.conf"
  cat >"$conf" <<EOF
# Written by ossrflow scripts/services/postgres.sh; rewritten on every start.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$RUN_DIR'
password_encryption = 'scram-sha-256'
# A throwaway test cluster: durability is not wanted, speed is.
fsync = off
synchronous_commit = off
full_page_writes = off
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  chown postgres:postgres "$conf"
  if ! grep -qx "include_if_exists = 'ossrflow.conf'" "$DATA_DIR/postgresql.conf"; then
    echo "include_if_exists = 'ossrflow.conf'" >>"$DATA_DIR/postgresql.conf"
  fi
}

start_server() {
  log "starting postgres on 127.0.0.1:$PORT (data $DATA_DIR)"
  # A postmaster.pid left by a killed server is handled by postgres itself (it checks the pid).
  touch "$LOG_FILE"
  chown postgres:postgres "$LOG_FILE"
  as_postgres "$BIN/pg_ctl" -D "$DATA_DIR" -l "$LOG_FILE" -w -t "$TIMEOUT" start >>"$CTL_LOG" 2>&1 || {
    show_log "$CTL_LOG"
    show_log "$LOG_FILE"
    die "postgres did not start; see $LOG_FILE"
  }
  record_pid
  wait_for "$TIMEOUT" postgres "$LOG_FILE" "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"
}

# Role and database; the password is made once and kept in the state dir (re-applied each start,
# so that the file is always what the server expects).
ensure_database() {
  if [ ! -s "$PASS_FILE" ]; then
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$PASS_FILE")
  fi
  local pass
  pass="$(cat "$PASS_FILE")"
  pg_sql <<SQL >>"$LOG_FILE" 2>&1 || { show_log "$LOG_FILE"; die "creating role/database $DB_NAME failed; see $LOG_FILE"; }
SELECT 'CREATE ROLE $DB_USER LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER')\gexec
ALTER ROLE $DB_USER LOGIN CREATEDB PASSWORD '$pass';
SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_USER' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_NAME')\gexec
SQL
}

cmd_start() {
  require_root
  BIN="$(pg_bindir)" || {
    cmd_install
    BIN="$(pg_bindir)"
  }
  if server_alive && answering; then
    log "already running on 127.0.0.1:$(cat "$PORT_FILE") (pid $(cat "$PID_FILE"))"
    return 0
  fi
  local t0=$SECONDS
  # A half-started server from an earlier run is stopped first.
  stop_server
  prepare_dirs
  choose_port
  init_cluster
  write_conf
  start_server
  ensure_database
  log "up in $((SECONDS - t0))s on 127.0.0.1:$PORT, database $DB_NAME, role $DB_USER; logs in $LOG_DIR"
}

stop_server() {
  if server_alive; then
    log "stopping postgres (pid $(cat "$PID_FILE"))"
    as_postgres "$BIN/pg_ctl" -D "$DATA_DIR" -m fast -w -t 20 stop >>"$CTL_LOG" 2>&1 || true
    # pg_ctl waits for the shutdown; only a postmaster that is still running (not a zombie
    # waiting for init) gets TERM and, 20 s later, KILL.
    if running "$(tr -dc '0-9' <"$PID_FILE")"; then
      stop_pid "$PID_FILE" postgres
    fi
  fi
  rm -f "$PID_FILE"
}

cmd_stop() {
  require_root
  BIN="$(pg_bindir)" || BIN=/nonexistent
  stop_server
  log "stopped"
}

cmd_status() {
  BIN="$(pg_bindir)" || {
    echo "postgres: not installed"
    return 1
  }
  if server_alive && answering; then
    echo "postgres: up on 127.0.0.1:$(cat "$PORT_FILE") (pid $(cat "$PID_FILE"), data $DATA_DIR)"
    return 0
  fi
  echo "postgres: down (run: bash $0 start)"
  return 1
}

cmd_env() {
  if [ ! -s "$PORT_FILE" ] || [ ! -s "$PASS_FILE" ]; then
    die "not started yet (run: bash $0 start)"
  fi
  BIN="$(pg_bindir)" || BIN=/nonexistent
  server_alive || log "warning: postgres is not running (run: bash $0 start)"
  echo "OSSRFLOW_TEST_POSTGRES_URL=postgresql+psycopg://$DB_USER:$(cat "$PASS_FILE")@127.0.0.1:$(cat "$PORT_FILE")/$DB_NAME"
}

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) usage ;;
esac
