#!/usr/bin/env bash
# A real Rucio server on 127.0.0.1 for ossrflow's staging tests, with one disk RSE served by nginx.
#
#   bash scripts/services/rucio.sh install        # nginx (apt, if missing), Rucio in its own venv
#   bash scripts/services/rucio.sh start          # install if needed, start, register the test data
#   bash scripts/services/rucio.sh stop           # stop the server and nginx this script started
#   bash scripts/services/rucio.sh status         # exit 0 and print the endpoints if all is up
#   bash scripts/services/rucio.sh env            # what a test needs, as `export NAME=value` lines
#   bash scripts/services/rucio.sh corrupt DID    # change the bytes of DID's replica, same size
#   bash scripts/services/rucio.sh restore DID    # put the replica's original bytes back
#   bash scripts/services/rucio.sh expire-tokens [ACCOUNT]  # every (or ACCOUNT's) token expires now
#
# What runs (everything on 127.0.0.1, as root):
#   gunicorn  Rucio's REST API (the WSGI app rucio.web.rest.flaskapi.v1.main) over https, with a
#             SQLite database and userpass authentication
#   nginx     the RSE's storage folder: WebDAV over https (PUT, PROPFIND, DELETE: what Rucio's
#             upload does) and the same files read-only over plain http on a second port
# Both use a server certificate from a CA made here once (tls/ca.pem, the clients' ca_cert).
#
# What `start` registers once, the way a facility does it: the accounts root (userpass identity
# ossrflow-root) and jdoe (a user with the scope user.jdoe), the scope ossrflow, the RSE
# LOCAL_SCRATCHDISK (Rucio's generic permission policy lets normal users upload only to RSEs named
# *SCRATCHDISK, *USERDISK or *LOCALGROUPDISK) with an https protocol (rucio.rse.protocols.webdav)
# and an http one (read only), and 108 generated files uploaded with Rucio's UploadClient, which
# computes adler32 and md5: the datasets ossrflow:m67.night1 (5 files), ossrflow:m67.calib (2),
# ossrflow:bulk.100files (100), the container ossrflow:m67 (night1 and calib), and
# ossrflow:standalone.bin in no dataset. manifest.json lists them all (format in
# scripts/services/README.md); it is rewritten when the ports change.
#
# State: ${OSSRFLOW_CLUSTER_DIR:-/tmp/ossrflow-cluster}/rucio (venv, etc, tls, db, storage, log,
# run). `start` copies rucio_helper.py (beside this script) into it; nothing else is read from the
# repository, and the running services never read it. Must run as root.
#
# Environment: OSSRFLOW_CLUSTER_DIR (state root), OSSRFLOW_CLUSTER_TIMEOUT (seconds to wait for a
# service, default 90), OSSRFLOW_RUCIO_PORT (API, default 18443), OSSRFLOW_RUCIO_WEB_PORT (WebDAV
# over https, default 18444), OSSRFLOW_RUCIO_HTTP_PORT (plain http, default 18480): without them a
# port is kept from the previous start, else the default, else any free one;
# OSSRFLOW_RUCIO_VERSION (the rucio release, default below), OSSRFLOW_RUCIO_PYTHON (the Python the
# venv is made from, default python3), OSSRFLOW_RUCIO_WORKERS (gunicorn workers, default 2).
set -euo pipefail

# shellcheck disable=SC2034  # the log prefix, read by lib.sh
TAG=rucio
# shellcheck source-path=SCRIPTDIR source=../lib.sh disable=SC1091
. "$(dirname "$0")/../lib.sh"

RUCIO_VERSION="${OSSRFLOW_RUCIO_VERSION:-41.5.1}"
GUNICORN_VERSION=27.0.1
PYTHON="${OSSRFLOW_RUCIO_PYTHON:-python3}"
TIMEOUT="${OSSRFLOW_CLUSTER_TIMEOUT:-90}"
WORKERS="${OSSRFLOW_RUCIO_WORKERS:-2}"
PACKAGES=(nginx libnginx-mod-http-dav-ext openssl curl)
DAV_EXT_MODULE=/usr/lib/nginx/modules/ngx_http_dav_ext_module.so
RSE=LOCAL_SCRATCHDISK
SCOPE=ossrflow
ROOT_USERNAME=ossrflow-root
USER_ACCOUNT=jdoe
USER_SCOPE=user.jdoe
HOST=127.0.0.1
DEFAULT_API_PORT=18443
DEFAULT_WEB_PORT=18444
DEFAULT_HTTP_PORT=18480

STATE_DIR="$(readlink -m "$(state_root)")/rucio"
VENV="$STATE_DIR/venv"
VENV_STAMP="$VENV/.ossrflow-stamp"
ETC="$STATE_DIR/etc"
TLS="$STATE_DIR/tls"
DB_DIR="$STATE_DIR/db"
DB_FILE="$DB_DIR/rucio.db"
DB_STAMP="$DB_DIR/.bootstrapped"
LOG_DIR="$STATE_DIR/log"
RUN_DIR="$STATE_DIR/run"
STORAGE="$STATE_DIR/storage"
HELPER="$STATE_DIR/lib/ossrflow_rucio.py"
HELPER_SOURCE="$(cd "$(dirname "$0")" && pwd)/rucio_helper.py"
MANIFEST="$STATE_DIR/manifest.json"
SEED_STAMP="$STATE_DIR/.seeded"
CREDENTIALS="$ETC/credentials.env"
PORTS="$ETC/ports.env"
SERVER_CFG="$ETC/rucio-server.cfg"
CLIENT_CFG="$ETC/rucio.cfg"
USER_CFG="$ETC/rucio-$USER_ACCOUNT.cfg"
NGINX_CONF="$ETC/nginx.conf"
# Rucio's WebDAV protocol (upload, download) insists on an X.509 credential unless its token is a
# JWT, so clients get a certificate and key from the test CA (nginx does not check it).
X509_PROXY="$TLS/user-proxy.pem"
SERVER_PID="$RUN_DIR/gunicorn.pid"
NGINX_PID="$RUN_DIR/nginx.pid"

# ---------------------------------------------------------------------------------------------
# install
# ---------------------------------------------------------------------------------------------

venv_stamp() { echo "rucio==$RUCIO_VERSION gunicorn==$GUNICORN_VERSION"; }

venv_current() {
  [ -x "$VENV/bin/gunicorn" ] && [ "$(cat "$VENV_STAMP" 2>/dev/null)" = "$(venv_stamp)" ] &&
    "$VENV/bin/python" -c '' 2>/dev/null
}

cmd_install() {
  mkdir -p "$LOG_DIR"
  apt_install "$LOG_DIR/apt.log" "${PACKAGES[@]}"
  [ -f "$DAV_EXT_MODULE" ] || die "nginx's WebDAV extension $DAV_EXT_MODULE is missing"
  if venv_current; then
    log "$(venv_stamp) already in $VENV"
    return 0
  fi
  local started=$SECONDS
  log "installing $(venv_stamp) into $VENV (log: $LOG_DIR/pip.log)"
  rm -rf "$VENV"
  # The venv's bundled pip can take minutes to resolve rucio's pins; a current one does not.
  if ! {
    "$PYTHON" -m venv "$VENV" &&
      "$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip &&
      "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "rucio==$RUCIO_VERSION" "gunicorn==$GUNICORN_VERSION"
  } >"$LOG_DIR/pip.log" 2>&1; then
    die_with_log "$LOG_DIR/pip.log" \
      "could not install $(venv_stamp) with $PYTHON (needs its venv module); see $LOG_DIR/pip.log"
  fi
  venv_stamp >"$VENV_STAMP"
  log "installed $(venv_stamp) in $((SECONDS - started)) s"
}

# ---------------------------------------------------------------------------------------------
# state: credentials, certificates, ports, configuration
# ---------------------------------------------------------------------------------------------

ensure_credentials() {
  [ -s "$CREDENTIALS" ] && return 0
  (
    umask 077
    printf 'ROOT_PASSWORD=%s\nUSER_PASSWORD=%s\n' \
      "$(openssl rand -hex 12)" "$(openssl rand -hex 12)" >"$CREDENTIALS"
  )
}

load_credentials() {
  # shellcheck disable=SC1090  # written by ensure_credentials
  [ -s "$CREDENTIALS" ] && . "$CREDENTIALS"
}

# sign NAME: NAME.pem from NAME.csr, signed by the test CA with the extensions NAME_ext (in $TLS).
sign() {
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
    -days 3650 -extfile openssl.cnf -extensions "$1_ext" -out "$1.pem"
}

# A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate (the
# X509_USER_PROXY of Rucio's WebDAV protocol), made once; ten years.
ensure_tls() {
  if [ -s "$TLS/ca.pem" ] && [ -s "$TLS/server.pem" ] && [ -s "$TLS/server.key" ] &&
    [ -s "$X509_PROXY" ]; then
    return 0
  fi
  log "making a test CA and a server certificate for $HOST in $TLS"
  mkdir -p "$TLS"
  cat >"$TLS/openssl.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = ossrflow test Rucio CA
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
EOF
  if ! (
    umask 077
    cd "$TLS"
    openssl req -x509 -config openssl.cnf -extensions ca_ext -newkey rsa:2048 -nodes -days 3650 \
      -keyout ca.key -out ca.pem &&
      openssl req -new -config openssl.cnf -subj "/CN=$HOST" -newkey rsa:2048 -nodes \
        -keyout server.key -out server.csr &&
      sign server &&
      openssl req -new -config openssl.cnf -subj "/CN=ossrflow test user" -newkey rsa:2048 -nodes \
        -keyout client.key -out client.csr &&
      sign client &&
      cat client.pem client.key >"$X509_PROXY" &&
      chmod 644 ca.pem server.pem
  ) >"$LOG_DIR/tls.log" 2>&1; then
    rm -f "$TLS/ca.pem" "$TLS/server.pem" "$X509_PROXY"
    die_with_log "$LOG_DIR/tls.log" "openssl could not make the certificates; see $LOG_DIR/tls.log"
  fi
}

load_ports() {
  API_PORT="" WEB_PORT="" HTTP_PORT=""
  # shellcheck disable=SC1090  # written by choose_ports
  [ -s "$PORTS" ] && . "$PORTS"
  API_URL="https://$HOST:$API_PORT"
  WEB_URL="https://$HOST:$WEB_PORT/$RSE/"
  HTTP_URL="http://$HOST:$HTTP_PORT/$RSE/"
  [ -n "$API_PORT" ] && [ -n "$WEB_PORT" ] && [ -n "$HTTP_PORT" ]
}

# pick_port WHAT WANTED PREVIOUS DEFAULT: WANTED (which must be free), else PREVIOUS or DEFAULT
# if free, else any free port.
pick_port() {
  local what=$1 wanted=$2 previous=$3 default=$4
  if [ -n "$wanted" ]; then
    if port_in_use "$wanted"; then
      die "TCP port $wanted ($what) is taken: $(ss -Hltnp "sport = :$wanted" | head -n 1)"
    fi
    echo "$wanted"
  elif [ -n "$previous" ] && ! port_in_use "$previous"; then
    echo "$previous"
  elif ! port_in_use "$default"; then
    echo "$default"
  else
    free_port
  fi
}

choose_ports() {
  load_ports || true
  API_PORT="$(pick_port "Rucio API" "${OSSRFLOW_RUCIO_PORT:-}" "$API_PORT" "$DEFAULT_API_PORT")"
  WEB_PORT="$(pick_port "WebDAV" "${OSSRFLOW_RUCIO_WEB_PORT:-}" "$WEB_PORT" "$DEFAULT_WEB_PORT")"
  HTTP_PORT="$(pick_port "http" "${OSSRFLOW_RUCIO_HTTP_PORT:-}" "$HTTP_PORT" "$DEFAULT_HTTP_PORT")"
  if [ "$(printf '%s\n' "$API_PORT" "$WEB_PORT" "$HTTP_PORT" | sort -u | wc -l)" -ne 3 ]; then
    die "the API, WebDAV and http ports must differ (got $API_PORT, $WEB_PORT, $HTTP_PORT)"
  fi
  printf 'API_PORT=%s\nWEB_PORT=%s\nHTTP_PORT=%s\n' "$API_PORT" "$WEB_PORT" "$HTTP_PORT" >"$PORTS"
  load_ports
}

write_configs() {
  local marker="# Written by ossrflow scripts/services/rucio.sh; rewritten on every start."
  local site
  site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  cat >"$ETC/alembic.ini" <<EOF
$marker
[alembic]
script_location = $site/rucio/db/sqla/migrate_repo
sqlalchemy.url = sqlite:///$DB_FILE
[loggers]
keys = root
[handlers]
keys = console
[formatters]
keys = generic
[logger_root]
level = WARN
handlers = console
[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = generic
[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
EOF
  (
    umask 077
    # Empty x509/gss/ssh identities: create_root_account then gives root the userpass one only.
    cat >"$SERVER_CFG" <<EOF
$marker
[common]
logdir = $LOG_DIR
loglevel = INFO
mailtemplatedir = $VENV/rucio/etc/mail_templates
[database]
default = sqlite:///$DB_FILE
[alembic]
cfg = $ETC/alembic.ini
[bootstrap]
userpass_identity = $ROOT_USERNAME
userpass_pwd = $ROOT_PASSWORD
userpass_email = root@localhost
x509_identity =
x509_email =
gss_identity =
gss_email =
ssh_identity =
ssh_email =
[policy]
permission = generic
schema = generic
lfn2pfn_algorithm_default = hash
EOF
    write_client_cfg "$CLIENT_CFG" root "$ROOT_USERNAME" "$ROOT_PASSWORD"
    write_client_cfg "$USER_CFG" "$USER_ACCOUNT" "$USER_ACCOUNT" "$USER_PASSWORD"
  )
  write_nginx_conf
}

# write_client_cfg FILE ACCOUNT USERNAME PASSWORD: a rucio.cfg for RUCIO_CONFIG.
write_client_cfg() {
  cat >"$1" <<EOF
# Written by ossrflow scripts/services/rucio.sh; rewritten on every start.
[client]
rucio_host = $API_URL
auth_host = $API_URL
auth_type = userpass
account = $2
username = $3
password = $4
ca_cert = $TLS/ca.pem
request_retries = 3
[policy]
lfn2pfn_algorithm_default = hash
EOF
}

write_nginx_conf() {
  cat >"$NGINX_CONF" <<EOF
# Written by ossrflow scripts/services/rucio.sh; rewritten on every start.
# The RSE $RSE: $STORAGE/$RSE/ is WebDAV over https on $WEB_PORT and read-only http on $HTTP_PORT.
load_module $DAV_EXT_MODULE;
daemon off;
# Workers as root: OSSRFLOW_CLUSTER_DIR may lie below a folder only root can enter.
user root;
worker_processes 2;
pid $NGINX_PID;
error_log $LOG_DIR/nginx-error.log info;
events { worker_connections 512; }
http {
  # conn: nginx's serial number of the TCP connection, reqs: requests on it so far; the tests
  # count the distinct connections a client used.
  log_format ossrflow '\$remote_addr [\$time_local] "\$request" \$status \$body_bytes_sent '
                      'conn=\$connection reqs=\$connection_requests';
  access_log $LOG_DIR/nginx-access.log ossrflow;
  client_body_temp_path $STATE_DIR/nginx/client_body;
  proxy_temp_path $STATE_DIR/nginx/proxy;
  fastcgi_temp_path $STATE_DIR/nginx/fastcgi;
  uwsgi_temp_path $STATE_DIR/nginx/uwsgi;
  scgi_temp_path $STATE_DIR/nginx/scgi;
  types { text/plain txt; text/csv csv; application/fits fits; }
  default_type application/octet-stream;
  sendfile on;
  client_max_body_size 0;
  server {
    listen $HOST:$WEB_PORT ssl;
    ssl_certificate $TLS/server.pem;
    ssl_certificate_key $TLS/server.key;
    root $STORAGE;
    location / {
      autoindex on;
      dav_methods PUT DELETE MKCOL COPY MOVE;
      dav_ext_methods PROPFIND OPTIONS;
      dav_access user:rw group:r all:r;
      create_full_put_path on;
    }
  }
  server {
    listen $HOST:$HTTP_PORT;
    root $STORAGE;
    location / {
      autoindex on;
      limit_except GET { deny all; }
    }
  }
}
EOF
}

# ---------------------------------------------------------------------------------------------
# the Python helper, rucio_helper.py beside this script (database bootstrap, test data,
# manifest, corrupt/restore, token expiry), copied into the state dir and run from there
# ---------------------------------------------------------------------------------------------

# helper CFG ARGS…: run the helper with the venv's Python, RUCIO_CONFIG=CFG and its settings.
helper() {
  local cfg=$1
  shift
  load_credentials
  env -u X509_CERT_DIR -u RUCIO_ACCOUNT -u RUCIO_AUTH_TYPE -u RUCIO_VO -u RUCIO_HOME \
    RUCIO_CONFIG="$cfg" X509_USER_PROXY="$X509_PROXY" \
    OSSRFLOW_RUCIO_DB="$DB_FILE" \
    OSSRFLOW_RUCIO_RSE="$RSE" \
    OSSRFLOW_RUCIO_SCOPE="$SCOPE" \
    OSSRFLOW_RUCIO_HOST="$API_URL" \
    OSSRFLOW_RUCIO_WEB_PORT="$WEB_PORT" \
    OSSRFLOW_RUCIO_HTTP_PORT="$HTTP_PORT" \
    OSSRFLOW_RUCIO_WEB_URL="$WEB_URL" \
    OSSRFLOW_RUCIO_HTTP_URL="$HTTP_URL" \
    OSSRFLOW_RUCIO_STORAGE="$STORAGE" \
    OSSRFLOW_RUCIO_SEED_DIR="$STATE_DIR/seed" \
    OSSRFLOW_RUCIO_BACKUP_DIR="$STATE_DIR/corrupted" \
    OSSRFLOW_RUCIO_MANIFEST="$MANIFEST" \
    OSSRFLOW_RUCIO_USER_ACCOUNT="$USER_ACCOUNT" \
    OSSRFLOW_RUCIO_USER_USERNAME="$USER_ACCOUNT" \
    OSSRFLOW_RUCIO_USER_PASSWORD="$USER_PASSWORD" \
    OSSRFLOW_RUCIO_USER_SCOPE="$USER_SCOPE" \
    "$VENV/bin/python" "$HELPER" "$@"
}

write_helper() {
  mkdir -p "$(dirname "$HELPER")"
  [ -f "$HELPER_SOURCE" ] || die "the helper $HELPER_SOURCE is missing"
  cp "$HELPER_SOURCE" "$HELPER.partial"
  mv "$HELPER.partial" "$HELPER"
}

# ---------------------------------------------------------------------------------------------
# start, step by step
# ---------------------------------------------------------------------------------------------

init_database() {
  [ -f "$DB_STAMP" ] && [ -s "$DB_FILE" ] && return 0
  log "creating the database $DB_FILE (schema, base VO, root account)"
  rm -f "$DB_FILE" "$DB_FILE-wal" "$DB_FILE-shm" "$SEED_STAMP"
  helper "$SERVER_CFG" init-db >"$LOG_DIR/init-db.log" 2>&1 ||
    die_with_log "$LOG_DIR/init-db.log" "the database bootstrap failed; see $LOG_DIR/init-db.log"
  touch "$DB_STAMP"
}

start_nginx() {
  log "starting nginx: WebDAV $WEB_URL, read-only $HTTP_URL"
  mkdir -p "$STATE_DIR/nginx" "$STORAGE/$RSE"
  # `daemon off` in the configuration: nginx stays the background job, so $! is its master.
  setsid nginx -e "$LOG_DIR/nginx-error.log" -p "$STATE_DIR/nginx/" -c "$NGINX_CONF" \
    </dev/null >>"$LOG_DIR/nginx.out" 2>&1 &
  local pid=$!
  wait_for --pid "$pid" "$TIMEOUT" nginx "$LOG_DIR/nginx-error.log" \
    curl -fsS -o /dev/null --max-time 5 --cacert "$TLS/ca.pem" "$WEB_URL"
  wait_for 10 nginx "$LOG_DIR/nginx-error.log" curl -fsS -o /dev/null --max-time 5 "$HTTP_URL"
  wait_for 10 nginx "$LOG_DIR/nginx-error.log" pid_alive "$NGINX_PID" nginx
}

start_server() {
  log "starting the Rucio server (gunicorn, $WORKERS workers) on $API_URL"
  # Started in its state folder: gunicorn takes its working folder at start as the default of
  # --chdir and checks that default again on every HUP (expire-tokens), so a server started
  # from a checkout that was deleted since would fail to reload.
  (
    cd "$STATE_DIR" && export PWD="$STATE_DIR" RUCIO_CONFIG="$SERVER_CFG" &&
      exec setsid "$VENV/bin/gunicorn" \
        --bind "$HOST:$API_PORT" --workers "$WORKERS" --worker-class gthread --threads 8 \
        --timeout 300 --graceful-timeout 5 --certfile "$TLS/server.pem" \
        --keyfile "$TLS/server.key" --no-control-socket --chdir "$STATE_DIR" \
        --pid "$SERVER_PID" --capture-output --error-logfile "$LOG_DIR/server.log" \
        --access-logfile "$LOG_DIR/server-access.log" \
        rucio.web.rest.flaskapi.v1.main:application
  ) </dev/null >>"$LOG_DIR/server.out" 2>&1 &
  local pid=$!
  wait_for --pid "$pid" "$TIMEOUT" "the Rucio server" "$LOG_DIR/server.log" \
    curl -fsS -o /dev/null --max-time 5 --cacert "$TLS/ca.pem" "$API_URL/ping"
  wait_for 10 "the Rucio server" "$LOG_DIR/server.log" pid_alive "$SERVER_PID" gunicorn
}

# What the registered data and the manifest depend on: the endpoints and the Rucio release.
seed_key() { echo "$RUCIO_VERSION $API_URL $WEB_URL $HTTP_URL"; }

seed_data() {
  if [ -s "$MANIFEST" ] && [ "$(cat "$SEED_STAMP" 2>/dev/null)" = "$(seed_key)" ]; then
    log "test data already registered: $MANIFEST"
    return 0
  fi
  rm -f "$MANIFEST" "$SEED_STAMP"
  log "registering the test data (once) and writing $MANIFEST (log: $LOG_DIR/sync.log)"
  # What the helper did on stdout (shown), the Rucio client's own logging in the log.
  if ! helper "$CLIENT_CFG" sync 2>"$LOG_DIR/sync.log" | sed "s/^/[$TAG]   /" >&2; then
    die_with_log "$LOG_DIR/sync.log" "registering the test data failed; see $LOG_DIR/sync.log"
  fi
  seed_key >"$SEED_STAMP"
}

# ---------------------------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------------------------

cmd_start() {
  if cmd_status >/dev/null 2>&1; then
    log "already up: $(cmd_status 2>/dev/null)"
    return 0
  fi
  require_root "it starts nginx and the Rucio server as root"
  local started=$SECONDS
  cmd_install
  cmd_stop 2>/dev/null # whatever a failed start left running
  mkdir -p "$ETC" "$DB_DIR" "$LOG_DIR" "$RUN_DIR" "$STORAGE"
  ensure_credentials
  load_credentials
  ensure_tls
  choose_ports
  write_configs
  write_helper
  init_database
  start_nginx
  start_server
  seed_data
  log "up in $((SECONDS - started)) s: $(cmd_status)"
}

cmd_stop() {
  stop_pid "$SERVER_PID" gunicorn
  stop_pid "$NGINX_PID" nginx
}

# Up: both services run and answer, and the test data is registered (the manifest exists).
cmd_status() {
  load_ports || {
    log "not set up (no $PORTS)"
    return 1
  }
  local version
  if ! pid_alive "$SERVER_PID" gunicorn; then
    log "the Rucio server is not running"
    return 1
  fi
  if ! pid_alive "$NGINX_PID" nginx; then
    log "nginx is not running"
    return 1
  fi
  if ! version="$(curl -fsS --max-time 5 --cacert "$TLS/ca.pem" "$API_URL/ping")"; then
    log "the Rucio server does not answer on $API_URL/ping"
    return 1
  fi
  if ! curl -fsS -o /dev/null --max-time 5 --cacert "$TLS/ca.pem" "$WEB_URL" ||
    ! curl -fsS -o /dev/null --max-time 5 "$HTTP_URL"; then
    log "nginx does not answer on $WEB_URL or $HTTP_URL"
    return 1
  fi
  if [ ! -s "$MANIFEST" ]; then
    log "the test data is not registered (no $MANIFEST)"
    return 1
  fi
  version="${version#*\"version\":\"}"
  echo "rucio ${version%%\"*} at $API_URL, RSE $RSE at $WEB_URL and $HTTP_URL"
}

cmd_env() {
  if ! load_ports || ! load_credentials; then
    die "not set up yet: run $0 start"
  fi
  local name value
  while read -r name value; do
    printf 'export %s=%q\n' "$name" "$value"
  done <<EOF
RUCIO_HOST $API_URL
RUCIO_AUTH_HOST $API_URL
RUCIO_CONFIG $CLIENT_CFG
RUCIO_ACCOUNT root
RUCIO_USERNAME $ROOT_USERNAME
RUCIO_PASSWORD $ROOT_PASSWORD
RUCIO_CA_CERT $TLS/ca.pem
X509_USER_PROXY $X509_PROXY
OSSRFLOW_RUCIO_USER_CONFIG $USER_CFG
OSSRFLOW_RUCIO_USER_ACCOUNT $USER_ACCOUNT
OSSRFLOW_RUCIO_USER_USERNAME $USER_ACCOUNT
OSSRFLOW_RUCIO_USER_PASSWORD $USER_PASSWORD
OSSRFLOW_RUCIO_USER_SCOPE $USER_SCOPE
OSSRFLOW_RUCIO_RSE $RSE
OSSRFLOW_RUCIO_SCOPE $SCOPE
OSSRFLOW_RUCIO_WEB_URL $WEB_URL
OSSRFLOW_RUCIO_HTTP_URL $HTTP_URL
OSSRFLOW_RUCIO_STORAGE $STORAGE/$RSE
OSSRFLOW_RUCIO_MANIFEST $MANIFEST
OSSRFLOW_RUCIO_VERSION $RUCIO_VERSION
EOF
}

# require_up: die unless the services answer (for the commands that change things).
require_up() {
  cmd_status >/dev/null || die "the Rucio test server is not up: run $0 start"
}

cmd_corrupt() {
  [ $# -eq 1 ] || die "usage: $0 corrupt SCOPE:NAME"
  require_up
  helper "$CLIENT_CFG" corrupt "$1"
}

cmd_restore() {
  [ $# -eq 1 ] || die "usage: $0 restore SCOPE:NAME"
  require_up
  helper "$CLIENT_CFG" restore "$1"
}

# Tokens expire in the database; then gunicorn's workers are replaced (HUP), because each keeps
# validated tokens in memory for up to 15 minutes.
cmd_expire_tokens() {
  [ $# -le 1 ] || die "usage: $0 expire-tokens [ACCOUNT]"
  require_up
  helper "$SERVER_CFG" expire-tokens "$@"
  local master old
  master="$(tr -dc '0-9' <"$SERVER_PID")"
  old="$(pgrep -P "$master" | tr '\n' ' ')"
  kill -HUP "$master"
  # shellcheck disable=SC2086  # a list of pids
  wait_for 60 "the old gunicorn workers to exit" "$LOG_DIR/server.log" \
    sh -c "! kill -0 $old 2>/dev/null"
  wait_for "$TIMEOUT" "the Rucio server" "$LOG_DIR/server.log" \
    curl -fsS -o /dev/null --max-time 5 --cacert "$TLS/ca.pem" "$API_URL/ping"
  log "workers replaced; tokens issued before now are refused"
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

main() {
  [ $# -ge 1 ] || usage
  local command=$1
  shift
  case "$command" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    corrupt) cmd_corrupt "$@" ;;
    restore) cmd_restore "$@" ;;
    expire-tokens) cmd_expire_tokens "$@" ;;
    -h | --help | help) usage ;;
    *) usage ;;
  esac
}

main "$@"
