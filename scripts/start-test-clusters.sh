#!/usr/bin/env bash
# Start every test service: the schedulers the integration tests submit to (Slurm, HTCondor), the
# container engines (dockerd, podman), and the services of `ossrflow serve` and staging
# (PostgreSQL, a Rucio server, Chromium for the web page). Locally a service that cannot start is
# reported and its tests skip with the reason; with CI=true a failure here fails the build.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
status=0
for cluster in slurm htcondor; do
  script="scripts/cluster/$cluster.sh"
  [ -f "$script" ] || continue
  echo "[clusters] starting $cluster" >&2
  if ! bash "$script" start; then
    echo "[clusters] $cluster could not start; its tests will be skipped (fail in CI)" >&2
    status=1
  fi
done
# Container engines (dockerd, podman) and the locally built base images the tests run.
for engine in dockerd podman; do
  echo "[clusters] starting $engine" >&2
  if ! bash "scripts/containers/$engine.sh" start; then
    echo "[clusters] $engine could not start; its tests will be skipped (fail in CI)" >&2
    status=1
  fi
done
if bash scripts/containers/dockerd.sh status >/dev/null 2>&1; then
  bash containers/base/build.sh --engine docker busybox debian-python conformance || status=1
fi
if bash scripts/containers/podman.sh status >/dev/null 2>&1; then
  bash containers/base/build.sh --engine podman busybox debian-python || status=1
fi
# The service tests' own servers (scripts/services/README.md).
for service in postgres rucio; do
  echo "[clusters] starting $service" >&2
  if ! bash "scripts/services/$service.sh" start; then
    echo "[clusters] $service could not start; its tests will be skipped (fail in CI)" >&2
    status=1
  fi
done
echo "[clusters] installing chromium" >&2
bash scripts/services/browser.sh install || status=1
if [ "${CI:-}" = "true" ] && [ "$status" -ne 0 ]; then
  exit 1
fi
exit 0
