#!/usr/bin/env bash
# Run the CWL v1.2 conformance suite through ossrflow-cwl-runner (Snakemake, local profile).
#
#   bash scripts/conformance.sh                    # every test; updates docs/conformance.md
#   bash scripts/conformance.sh --required         # the `required` tests only (about 4 min)
#   bash scripts/conformance.sh --docker           # the `docker`-tagged tests only
#   bash scripts/conformance.sh --container ENGINE # docker, podman or none (default below)
#   bash scripts/conformance.sh -- ARGS            # more cwltest arguments (e.g. -n 1-10; no doc update)
#
# Containers: the runner gets `--container ENGINE`. The default is docker when a Docker daemon
# answers (bash scripts/containers/dockerd.sh start), else none. With an engine, the images the
# suite pulls are made first from local base images (containers/base/build.sh ENGINE conformance:
# no registry is reachable) and the `docker`-tagged tests run too; with none they are excluded
# and the runner has `cwltool --no-container` semantics.
#
# Writes build/conformance/junit.xml and cwltest.log. Exits 1 when a test fails that is not in
# scripts/conformance-known-failures.txt (a regression), else 0.
# Environment: OSSRFLOW_CWL_SUITE (suite folder, default ../shared/cwl-v1.2), OSSRFLOW_CONFORMANCE_JOBS
# (tests at a time, default 2), VENV (default .venv).
set -euo pipefail
cd "$(dirname "$0")/.." || exit 1
REPO=$PWD
BIN="${VENV:-$REPO/.venv}/bin"
SUITE="${OSSRFLOW_CWL_SUITE:-$REPO/../shared/cwl-v1.2}"
OUT="$REPO/build/conformance"
JOBS="${OSSRFLOW_CONFORMANCE_JOBS:-2}"

engine=""
selection=()
full=1
while [ $# -gt 0 ]; do
  case "$1" in
    --required) selection=(--tags required); full=0; shift ;;
    --docker) selection=(--tags docker); full=0; shift ;;
    --container) engine="${2:?--container needs docker, podman or none}"; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] && full=0  # a subset (-n, -s ...): docs/conformance.md keeps the last full run
if [ ! -f "$SUITE/conformance_tests.yaml" ]; then
  # A user's clone has no ../shared: say so and skip. In CI the suite is there and must run.
  if [ "${CI:-}" = "true" ]; then
    echo "conformance: no CWL suite at $SUITE (CI=true: the suite must run)" >&2
    exit 2
  fi
  echo "conformance: skipped: no CWL v1.2 suite at $SUITE (set OSSRFLOW_CWL_SUITE to its folder)" >&2
  exit 0
fi
if [ -z "$engine" ]; then
  engine=none
  bash scripts/containers/dockerd.sh status >/dev/null 2>&1 && engine=docker
fi
case "$engine" in
  none)
    [ "${selection[*]}" = "--tags docker" ] && { echo "conformance: --docker needs an engine" >&2; exit 2; }
    [ "${#selection[@]}" -eq 0 ] && selection=(--exclude-tags docker)
    ;;
  docker | podman)
    bash containers/base/build.sh --engine "$engine" conformance \
      || { echo "conformance: cannot make the suite's images with $engine" >&2; exit 2; }
    ;;
  *) echo "conformance: --container takes docker, podman or none, not $engine" >&2; exit 2 ;;
esac

mkdir -p "$OUT"
echo "[conformance] cwltest ${selection[*]:-(all tests)} -j$JOBS, containers: $engine, in $SUITE (log: $OUT/cwltest.log)" >&2
start=$(date +%s)
# cwltest exits non-zero when any test fails; the known-failures check below decides.
(cd "$SUITE" && "$BIN/cwltest" --test conformance_tests.yaml --tool "$BIN/ossrflow-cwl-runner" \
  "${selection[@]}" "-j$JOBS" --junit-xml "$OUT/junit.xml" "$@" -- --container "$engine") \
  >"$OUT/cwltest.log" 2>&1 || true
minutes=$(( ($(date +%s) - start + 59) / 60 ))
tail -n 1 "$OUT/cwltest.log" >&2

if [ "$full" = 1 ]; then
  "$BIN/python" - "$OUT" "$minutes" "$engine" <<'PY'
import subprocess, sys
from datetime import date
from pathlib import Path

out, minutes, engine = sys.argv[1], sys.argv[2], sys.argv[3]
summary = subprocess.run(
    [sys.executable, "scripts/conformance_report.py", f"{out}/junit.xml", "--log",
     f"{out}/cwltest.log"],
    capture_output=True, text=True, check=True,
).stdout
doc = Path("docs/conformance.md")
text = doc.read_text(encoding="utf-8")
start, end = "<!-- results:start -->", "<!-- results:end -->"
head, _, rest = text.partition(start)
_, _, tail = rest.partition(end)
body = f"\nLast run {date.today()}, {minutes} min, `make conformance` (containers: {engine}):\n\n{summary}\n"
doc.write_text(head + start + body + end + tail, encoding="utf-8")
print(f"[conformance] updated {doc}", file=sys.stderr)
PY
fi
"$BIN/python" scripts/conformance_report.py "$OUT/junit.xml" --log "$OUT/cwltest.log" \
  --check-known scripts/conformance-known-failures.txt
