#!/usr/bin/env bash
# Headless Chromium for the browser tests of `ossrflow serve`, from Debian's packages.
#
#   bash scripts/services/browser.sh install  # apt-get Debian's chromium (only if missing)
#   bash scripts/services/browser.sh start    # install if needed, then status (nothing keeps running)
#   bash scripts/services/browser.sh status   # exit 0 and print the path and version if it runs
#
# Browser downloads of test tools (`playwright install`, puppeteer's) fail on this kind of machine:
# tests drive this binary instead. With the Python `playwright` package from PyPI:
#
#   browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[...FLAGS])
#
# FLAGS, as root and on a machine with no network but the package registries (without the
# background-networking ones Chromium keeps trying Google's hosts):
#   --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
#   --disable-background-networking --disable-component-update --disable-sync
# `status` starts the browser once with these flags (`--dump-dom about:blank`) to prove it runs.
#
# Environment: OSSRFLOW_CLUSTER_DIR (state root; the apt log goes to its browser/ folder).
set -euo pipefail

# shellcheck disable=SC2034  # the log prefix, read by lib.sh
TAG=browser
# shellcheck source-path=SCRIPTDIR source=../lib.sh disable=SC1091
. "$(dirname "$0")/../lib.sh"

STATE_DIR="$(state_root)/browser"
CHROMIUM=/usr/bin/chromium
PACKAGES=(chromium)
FLAGS=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync)

chromium_version() {
  "$CHROMIUM" --version 2>/dev/null | awk '{ print $2 }'
}

cmd_install() {
  mkdir -p "$STATE_DIR"
  apt_install "$STATE_DIR/apt.log" "${PACKAGES[@]}"
  [ -x "$CHROMIUM" ] || die "$CHROMIUM missing after installing ${PACKAGES[*]}"
  log "Chromium $(chromium_version) at $CHROMIUM"
}

# One headless start with the test flags and a throwaway profile: prints nothing, fails if the
# browser cannot render an empty page within 60 s.
smoke() {
  local profile rc=0
  profile="$(mktemp -d /tmp/ossrflow-chromium.XXXXXX)"
  timeout 60 "$CHROMIUM" "${FLAGS[@]}" --user-data-dir="$profile" --dump-dom about:blank \
    >"$profile.out" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ] || ! grep -q '<html' "$profile.out"; then
    show_log "$profile.out"
    rm -rf "$profile" "$profile.out"
    return 1
  fi
  rm -rf "$profile" "$profile.out"
}

cmd_status() {
  if [ ! -x "$CHROMIUM" ]; then
    echo "chromium: not installed (run: bash $0 install)"
    return 1
  fi
  if ! smoke; then
    echo "chromium: $CHROMIUM $(chromium_version) does not start headless"
    return 1
  fi
  echo "chromium: $CHROMIUM $(chromium_version)"
}

# Tests call `start` for every service (tests/support/services.py): here it means "make sure
# the browser is there and runs"; no process is left behind.
cmd_start() {
  [ -x "$CHROMIUM" ] || cmd_install
  cmd_status
}

usage() {
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  status) cmd_status ;;
  *) usage ;;
esac
