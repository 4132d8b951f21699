#!/usr/bin/env bash
# Single-node Slurm test cluster for ossrflow's scheduler tests.
#
#   bash scripts/cluster/slurm.sh install   # apt-get the Slurm, munge and MariaDB packages (only if missing)
#   bash scripts/cluster/slurm.sh start     # install if needed, start every daemon, wait for an idle node
#   bash scripts/cluster/slurm.sh stop      # stop the daemons this script started (by their pid files)
#   bash scripts/cluster/slurm.sh status    # exit 0 and print the node state if the cluster is up
#
# What runs (all bound to 127.0.0.1 or to Unix sockets):
#   munged     authentication (Unix socket only)
#   mariadbd   own datadir, socket and port under the state dir; holds the accounting database
#   slurmdbd   accounting daemon, so that `sacct` works (the Snakemake slurm executor polls sacct)
#   slurmctld  controller, slurmd  the one compute node "localhost" with CPUs=$(nproc)
#
# Runtime files live under the state dir, ${OSSRFLOW_CLUSTER_DIR:-/tmp/ossrflow-cluster}/slurm.
# The configuration goes where the Slurm tools look for it: /etc/slurm/slurm.conf and
# /etc/slurm/slurmdbd.conf (rewritten on every start). Must run as root.
#
# Environment: OSSRFLOW_CLUSTER_DIR (state root), OSSRFLOW_CLUSTER_TIMEOUT (seconds to wait for the
# node, default 90).
set -euo pipefail

# shellcheck disable=SC2034  # the log prefix, read by lib.sh
TAG=slurm
# shellcheck source-path=SCRIPTDIR source=../lib.sh disable=SC1091
. "$(dirname "$0")/../lib.sh"

STATE_DIR="$(state_root)/slurm"
TIMEOUT="${OSSRFLOW_CLUSTER_TIMEOUT:-90}"
CLUSTER_NAME=ossrflow
PARTITION=debug
SLURM_CONF=/etc/slurm/slurm.conf
SLURMDBD_CONF=/etc/slurm/slurmdbd.conf
CONF_MARKER="# Written by ossrflow scripts/cluster/slurm.sh"
PACKAGES=(slurmctld slurmd slurm-client munge slurmdbd mariadb-server)
# Node states in which the cluster counts as up (idle when nothing runs).
HEALTHY_STATES='^(idle|mixed|allocated|completing)$'

RUN_DIR="$STATE_DIR/run"       # pid files (owned by the slurm user: slurmctld/slurmdbd write there)
LOG_DIR="$STATE_DIR/log"
DB_DIR="$STATE_DIR/mysql"
DB_SOCKET="$STATE_DIR/mysqld/mysqld.sock"  # socket and pid file in a dir the mysql user owns
DB_PIDFILE="$STATE_DIR/mysqld/mariadb.pid"

# ---------------------------------------------------------------------------------------------
# install
# ---------------------------------------------------------------------------------------------

# apt's and the maintainer scripts' output goes to a log that is shown only on failure.
cmd_install() {
  require_root
  if [ -z "$(missing_debs "${PACKAGES[@]}")" ]; then
    log "packages already installed"
    return 0
  fi
  apt_install "$STATE_DIR/apt.log" "${PACKAGES[@]}"
}

binaries_present() {
  local b
  for b in /usr/sbin/slurmctld /usr/sbin/slurmd /usr/sbin/slurmdbd /usr/sbin/munged \
    /usr/sbin/mariadbd /usr/bin/mariadb-install-db /usr/bin/sinfo /usr/bin/sacct /usr/bin/sacctmgr; do
    [ -x "$b" ] || return 1
  done
}

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

node_state() {
  sinfo -h -o %T 2>/dev/null | head -n 1
}

node_healthy() {
  [[ "$(node_state)" =~ $HEALTHY_STATES ]]
}

daemons_alive() {
  pid_alive "$RUN_DIR/slurmctld.pid" slurmctld &&
    pid_alive "$RUN_DIR/slurmd.pid" slurmd &&
    pid_alive "$RUN_DIR/slurmdbd.pid" slurmdbd &&
    pid_alive "$DB_PIDFILE" mariadbd
}

# ---------------------------------------------------------------------------------------------
# start, step by step
# ---------------------------------------------------------------------------------------------

# The Slurm daemons bind to what the host name resolves to (CommunicationParameters=NoInAddrAny)
# and to their fixed ports; check both before starting anything.
check_network() {
  local addr port
  addr="$(getent ahostsv4 "$(hostname)" | awk 'NR == 1 { print $1 }')"
  case "$addr" in
    127.*) ;;
    *) log "warning: host name $(hostname) resolves to '${addr:-nothing}', not to 127.x;" \
      "the Slurm daemons bind to that address" ;;
  esac
  for port in 6817 6818 6819; do
    if port_in_use "$port"; then
      die "TCP port $port (slurmctld 6817, slurmd 6818, slurmdbd 6819) is taken by another process: $(ss -Hltnp "sport = :$port" | head -n 1)"
    fi
  done
}

prepare_dirs() {
  # Every daemon user must be able to traverse the state dir.
  mkdir -p "$STATE_DIR" "$LOG_DIR" "$RUN_DIR" "$STATE_DIR/state" "$STATE_DIR/spool"
  chmod 755 "$STATE_DIR" "$(dirname "$STATE_DIR")"
  chown slurm:slurm "$RUN_DIR" "$LOG_DIR" "$STATE_DIR/state"
  chmod 755 "$RUN_DIR" "$LOG_DIR"
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    log "munged already running"
    return 0
  fi
  log "starting munged"
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge /etc/munge
  if [ ! -s /etc/munge/munge.key ]; then
    log "creating /etc/munge/munge.key"
    mungekey --create --keyfile=/etc/munge/munge.key
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 600 /etc/munge/munge.key
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged --force
  # munged writes its own pid file; keep a copy so that `stop` only stops a munged we started.
  wait_for 15 munged /var/log/munge/munged.log test -s /run/munge/munged.pid
  cp /run/munge/munged.pid "$RUN_DIR/munged.pid"
  wait_for 15 munged /var/log/munge/munged.log sh -c 'munge -n | unmunge'
}

choose_db_port() {
  local port
  # Reuse the port of the previous start when it is still free, else 3306, else the next free one.
  if [ -s "$STATE_DIR/mariadb.port" ]; then
    port="$(cat "$STATE_DIR/mariadb.port")"
    if ! port_in_use "$port"; then
      echo "$port"
      return 0
    fi
  fi
  for port in 3306 $(seq 13306 13399); do
    if ! port_in_use "$port"; then
      echo "$port" >"$STATE_DIR/mariadb.port"
      echo "$port"
      return 0
    fi
  done
  die "no free TCP port for MariaDB (tried 3306 and 13306-13399)"
}

db() {
  mariadb --no-defaults --socket="$DB_SOCKET" -uroot "$@"
}

start_mariadb() {
  local port
  port="$(choose_db_port)"
  if [ ! -d "$DB_DIR/mysql" ]; then
    log "initialising MariaDB datadir $DB_DIR"
    rm -rf "$DB_DIR"
    mariadb-install-db --no-defaults --user=mysql --datadir="$DB_DIR" \
      --auth-root-authentication-method=socket --skip-test-db >"$LOG_DIR/mariadb-install.log" 2>&1 ||
      die "mariadb-install-db failed; see $LOG_DIR/mariadb-install.log"
  fi
  chown -R mysql:mysql "$DB_DIR"
  touch "$LOG_DIR/mariadb.log"
  chown mysql:mysql "$LOG_DIR/mariadb.log"
  install -d -o mysql -g mysql -m 0755 "$(dirname "$DB_SOCKET")"
  log "starting mariadbd on 127.0.0.1:$port (socket $DB_SOCKET)"
  # mariadbd does not daemonise: run it in the background in its own session. (A background job
  # of a script is no process-group leader, so setsid execs without forking and $! is mariadbd.)
  setsid /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$DB_DIR" \
    --socket="$DB_SOCKET" --pid-file="$DB_PIDFILE" --bind-address=127.0.0.1 \
    --port="$port" --skip-name-resolve --log-error="$LOG_DIR/mariadb.log" \
    --innodb-buffer-pool-size=64M </dev/null >/dev/null 2>&1 &
  local pid=$!
  wait_for --pid "$pid" 60 mariadbd "$LOG_DIR/mariadb.log" db -e 'SELECT 1'
  wait_for 10 mariadbd "$LOG_DIR/mariadb.log" pid_alive "$DB_PIDFILE" mariadbd

  # The accounting database and its user; the password is made once and kept in the state dir.
  if [ ! -s "$STATE_DIR/dbpass" ]; then
    (umask 077 && head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$STATE_DIR/dbpass")
  fi
  local pass
  pass="$(cat "$STATE_DIR/dbpass")"
  db --batch <<SQL
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$pass';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$pass';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
FLUSH PRIVILEGES;
SQL
  DB_PORT=$port
}

write_slurm_conf() {
  local cpus mem_mb
  cpus="$(nproc)"
  # RealMemory must not exceed what slurmd detects, or the node is drained: take 90% of MemTotal.
  mem_mb="$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)"
  mkdir -p /etc/slurm
  if [ -f "$SLURM_CONF" ] && ! grep -qF "$CONF_MARKER" "$SLURM_CONF"; then
    log "keeping the existing $SLURM_CONF as $SLURM_CONF.ossrflow-backup"
    cp -p "$SLURM_CONF" "$SLURM_CONF.ossrflow-backup"
  fi
  log "writing $SLURM_CONF (CPUs=$cpus RealMemory=$mem_mb)"
  cat >"$SLURM_CONF" <<EOF
$CONF_MARKER; rewritten on every start.
ClusterName=$CLUSTER_NAME
SlurmctldHost=localhost(127.0.0.1)
AuthType=auth/munge
CredType=cred/munge
SlurmUser=slurm
SlurmdUser=root
StateSaveLocation=$STATE_DIR/state
SlurmdSpoolDir=$STATE_DIR/spool
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
# Bind every daemon to the address its name resolves to (127.0.0.1), not to all interfaces.
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=$PARTITION Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  chmod 644 "$SLURM_CONF"
}

write_slurmdbd_conf() {
  local pass
  pass="$(cat "$STATE_DIR/dbpass")"
  log "writing $SLURMDBD_CONF (MariaDB port $DB_PORT)"
  (
    umask 077
    cat >"$SLURMDBD_CONF" <<EOF
$CONF_MARKER; rewritten on every start.
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
# Not in slurmdbd.conf(5) for 22.05, but honoured: bind to what the host name resolves to.
CommunicationParameters=NoInAddrAny
SlurmUser=slurm
LogFile=$LOG_DIR/slurmdbd.log
PidFile=$RUN_DIR/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$pass
StorageLoc=slurm_acct_db
EOF
  )
  chown slurm:slurm "$SLURMDBD_CONF"
  chmod 600 "$SLURMDBD_CONF"
}

start_slurmdbd() {
  log "starting slurmdbd"
  /usr/sbin/slurmdbd
  wait_for 60 slurmdbd "$LOG_DIR/slurmdbd.log" sacctmgr -n show cluster
  if sacctmgr -n -P show cluster format=cluster | grep -qx "$CLUSTER_NAME"; then
    log "cluster $CLUSTER_NAME already registered in the accounting database"
  else
    log "registering cluster $CLUSTER_NAME in the accounting database"
    sacctmgr -i add cluster "$CLUSTER_NAME" >/dev/null
  fi
}

start_slurm_daemons() {
  log "starting slurmctld"
  /usr/sbin/slurmctld
  wait_for 30 slurmctld "$LOG_DIR/slurmctld.log" scontrol ping
  log "starting slurmd"
  /usr/sbin/slurmd -N localhost
  log "waiting (up to ${TIMEOUT}s) for the node to be idle"
  local i
  for ((i = 0; i < TIMEOUT * 2; i++)); do
    node_healthy && return 0
    sleep 0.5
  done
  log "error: node localhost is '$(node_state || true)', not idle, after ${TIMEOUT}s;" \
    "see $LOG_DIR/slurmd.log and $LOG_DIR/slurmctld.log"
  show_log "$LOG_DIR/slurmd.log"
  show_log "$LOG_DIR/slurmctld.log"
  exit 1
}

cmd_start() {
  require_root
  if binaries_present && daemons_alive && node_healthy; then
    log "already running (node $(node_state))"
    return 0
  fi
  binaries_present || cmd_install
  local t0=$SECONDS
  # A half-started cluster from an earlier run is stopped first, so that every step starts clean.
  stop_slurm_daemons
  check_network
  prepare_dirs
  start_munge
  write_slurm_conf
  start_mariadb
  write_slurmdbd_conf
  start_slurmdbd
  start_slurm_daemons
  log "up in $((SECONDS - t0))s: partition $PARTITION, node localhost $(node_state); logs in $LOG_DIR"
}

# ---------------------------------------------------------------------------------------------
# stop, status
# ---------------------------------------------------------------------------------------------

stop_slurm_daemons() {
  stop_pid "$RUN_DIR/slurmd.pid" slurmd
  stop_pid "$RUN_DIR/slurmctld.pid" slurmctld
  stop_pid "$RUN_DIR/slurmdbd.pid" slurmdbd
  stop_pid "$DB_PIDFILE" mariadbd
  # Only a munged that this script started (its pid copied into the state dir) is stopped.
  if [ -f "$RUN_DIR/munged.pid" ]; then
    stop_pid "$RUN_DIR/munged.pid" munged
  fi
}

cmd_stop() {
  require_root
  stop_slurm_daemons
  log "stopped"
}

cmd_status() {
  local name file rc=0 state
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    echo "munged: running"
  else
    echo "munged: not running"
    rc=1
  fi
  for name in mariadbd slurmdbd slurmctld slurmd; do
    file="$RUN_DIR/$name.pid"
    [ "$name" != mariadbd ] || file="$DB_PIDFILE"
    if pid_alive "$file" "$name"; then
      echo "$name: running (pid $(tr -dc '0-9' <"$file"))"
    else
      echo "$name: not running"
      rc=1
    fi
  done
  state="$(node_state || true)"
  echo "node localhost: ${state:-unknown}"
  if [ "$rc" -eq 0 ] && [[ "$state" =~ $HEALTHY_STATES ]]; then
    echo "slurm: up"
    return 0
  fi
  echo "slurm: down"
  return 1
}

usage() {
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) usage ;;
esac
