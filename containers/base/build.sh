#!/usr/bin/env bash
# Build ossrflow's local base images without any container registry.
#
#   bash containers/base/build.sh [--engine docker|podman] [busybox] [debian-python] [conformance]
#
# With no image named, busybox and debian-python are built:
#   ossrflow/busybox:local        FROM scratch + the static busybox of Debian's busybox-static
#                                 package (fetched with `apt-get download`, nothing installed)
#   ossrflow/debian-python:local  a Debian root filesystem made by `debootstrap --variant=minbase`
#                                 with python3 (also as `python`), venv and pip, from the Debian
#                                 mirror of this machine's apt sources, loaded with `<engine> import`
#
# `conformance` also tags ossrflow/debian-python:local with the names the CWL v1.2.1 conformance
# tests pull (docker.io/debian:stable-slim, python:3-slim, alpine:latest) and builds a
# docker.io/bash:4.4 on it whose entry point behaves like the official one (bash.Dockerfile):
# with those, the suite's docker tests run with no registry.
#
# The root filesystem tarball is cached under ${OSSRFLOW_CLUSTER_DIR:-/tmp/ossrflow-cluster}/base,
# keyed by mirror, suite and package list; an image already carrying the same key (label
# org.ossrflow.base.key) is kept as it is. So the second run takes seconds, the first about a minute.
# Needs root (debootstrap) and a running engine (scripts/containers/dockerd.sh start).
#
# Environment: OSSRFLOW_CLUSTER_DIR (cache root), OSSRFLOW_DEBIAN_SUITE (default: the host's
# codename), OSSRFLOW_DEBIAN_MIRROR (default: read from apt).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck disable=SC2034  # the log prefix, read by lib.sh
TAG=base
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib.sh disable=SC1091
. "$HERE/../../scripts/lib.sh"

CACHE="$(state_root)/base"
# shellcheck disable=SC1091
SUITE="${OSSRFLOW_DEBIAN_SUITE:-$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")}"
PACKAGES=python3,python3-venv,python3-pip,python-is-python3,ca-certificates
ENGINE=docker
BUSYBOX_IMAGE=ossrflow/busybox:local
PYTHON_IMAGE=ossrflow/debian-python:local
CONFORMANCE_NAMES=(docker.io/debian:stable-slim docker.io/python:3-slim docker.io/alpine:latest)
CONFORMANCE_BASH=docker.io/bash:4.4  # built: its entry point passes options to bash, like the original

# The mirror apt uses for $SUITE on this machine (no hard-coded host).
debian_mirror() {
  if [ -n "${OSSRFLOW_DEBIAN_MIRROR:-}" ]; then
    echo "$OSSRFLOW_DEBIAN_MIRROR"
    return
  fi
  # shellcheck disable=SC2016  # apt's own $(FIELD) template, not shell
  apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 2>/dev/null \
    | awk -v suite="$SUITE" '$1 == suite { print $2; exit }'
}

image_label() {  # image label -> value (empty when the image or label is missing)
  "$ENGINE" image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

ensure_apt_lists() {
  compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || apt-get update -qq
}

build_busybox() {
  local started=$SECONDS work deb version
  ensure_apt_lists
  version="$(apt-cache policy busybox-static | awk '/Candidate:/ { print $2 }')"
  if [ -z "$version" ] || [ "$version" = "(none)" ]; then
    die "no busybox-static package in apt (run apt-get update)"
  fi
  if [ "$(image_label "$BUSYBOX_IMAGE" org.ossrflow.base.key)" = "busybox-static=$version" ]; then
    log "$BUSYBOX_IMAGE is current (busybox-static $version)"
    return
  fi
  work="$(mktemp -d)"
  (cd "$work" && apt-get download -qq -o APT::Sandbox::User=root "busybox-static=$version")
  deb="$(ls "$work"/busybox-static_*.deb)"
  dpkg-deb -x "$deb" "$work/root"
  cp "$work/root/bin/busybox" "$work/busybox"
  cp "$HERE/busybox.Dockerfile" "$work/Dockerfile"
  "$ENGINE" build --network none --quiet \
    --label "org.ossrflow.base.key=busybox-static=$version" \
    -t "$BUSYBOX_IMAGE" "$work" >"$work/build.log" 2>&1 || {
    cat "$work/build.log" >&2
    rm -rf "$work"
    die "$ENGINE build of $BUSYBOX_IMAGE failed"
  }
  rm -rf "$work"
  log "built $BUSYBOX_IMAGE (busybox-static $version) in $((SECONDS - started)) s"
}

rootfs_tarball() {  # mirror key -> path of the cached root filesystem tarball (made if missing)
  local mirror="$1" key="$2" tarball="$CACHE/debian-python-$SUITE-$2.tar" root started=$SECONDS
  if [ -s "$tarball" ]; then
    log "cached root filesystem $tarball"
    echo "$tarball"
    return
  fi
  require_root "debootstrap needs it"
  command -v debootstrap >/dev/null || apt_install "$CACHE/apt.log" debootstrap
  mkdir -p "$CACHE"
  root="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
  log "debootstrap $SUITE from $mirror (about a minute)"
  if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$root" "$mirror" >"$CACHE/debootstrap.log" 2>&1; then
    rm -rf "$root"
    die "debootstrap failed (log: $CACHE/debootstrap.log)"
  fi
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
  tar -C "$root" --numeric-owner -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$root"
  log "made root filesystem in $((SECONDS - started)) s"
  echo "$tarball"
}

build_debian_python() {
  local started=$SECONDS mirror key tarball
  mirror="$(debian_mirror)"
  [ -n "$mirror" ] || die "no apt source for suite $SUITE (set OSSRFLOW_DEBIAN_MIRROR)"
  key="$(printf '%s %s %s' "$mirror" "$SUITE" "$PACKAGES" | sha256sum | cut -c1-16)"
  if [ "$(image_label "$PYTHON_IMAGE" org.ossrflow.base.key)" = "$key" ]; then
    log "$PYTHON_IMAGE is current (key $key)"
    return
  fi
  tarball="$(rootfs_tarball "$mirror" "$key")"
  "$ENGINE" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    --change "LABEL org.ossrflow.base.key=$key" \
    --change "LABEL org.ossrflow.base.suite=$SUITE" \
    --change "LABEL org.ossrflow.base.mirror=$mirror" \
    "$tarball" "$PYTHON_IMAGE" >/dev/null 2>"$CACHE/import.log" \
    || { cat "$CACHE/import.log" >&2; die "$ENGINE import of $tarball failed"; }
  log "imported $PYTHON_IMAGE in $((SECONDS - started)) s"
}

tag_conformance() {
  build_debian_python
  mkdir -p "$CACHE"
  local name
  for name in "${CONFORMANCE_NAMES[@]}"; do
    "$ENGINE" tag "$PYTHON_IMAGE" "$name"
  done
  log "tagged $PYTHON_IMAGE as ${CONFORMANCE_NAMES[*]}"
  "$ENGINE" build --network none --quiet --build-arg "BASE=$PYTHON_IMAGE" \
    -f "$HERE/bash.Dockerfile" -t "$CONFORMANCE_BASH" "$HERE" >/dev/null 2>"$CACHE/bash-build.log" \
    || { cat "$CACHE/bash-build.log" >&2; die "build of $CONFORMANCE_BASH failed"; }
  log "built $CONFORMANCE_BASH"
}

main() {
  local -a wanted=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --engine) ENGINE="${2:?--engine needs docker or podman}"; shift 2 ;;
      busybox | debian-python | conformance) wanted+=("$1"); shift ;;
      *) die "usage: $0 [--engine docker|podman] [busybox] [debian-python] [conformance]" ;;
    esac
  done
  [ "${#wanted[@]}" -gt 0 ] || wanted=(busybox debian-python)
  case "$ENGINE" in docker | podman) ;; *) die "engine must be docker or podman, not $ENGINE" ;; esac
  "$ENGINE" info >/dev/null 2>&1 || die "$ENGINE does not answer (start it: bash scripts/containers/${ENGINE/docker/dockerd}.sh start)"
  local started=$SECONDS image
  for image in "${wanted[@]}"; do
    case "$image" in
      busybox) build_busybox ;;
      debian-python) build_debian_python ;;
      conformance) tag_conformance ;;
    esac
  done
  log "done in $((SECONDS - started)) s"
}

main "$@"
