#!/usr/bin/env bash
# Run the CWL v1.2 conformance suite through ossrflow-cwl-runner (Snakemake; local profile unless
# --profile says otherwise).
#
#   bash scripts/conformance.sh                    # every test; updates docs/conformance.md
#   bash scripts/conformance.sh --required         # the `required` tests only (about 4 min)
#   bash scripts/conformance.sh --docker           # the `docker`-tagged tests only
#   bash scripts/conformance.sh --container ENGINE # docker, podman or none (default below)
#   bash scripts/conformance.sh --profile slurm    # the `required` tests through the Slurm profile
#   bash scripts/conformance.sh --profile htcondor # ... through the HTCondor profile
#   bash scripts/conformance.sh -- ARGS            # more cwltest arguments (e.g. -n 1-10; no doc update)
#
# Profiles: --profile local|slurm|htcondor (make conformance PROFILE=...) runs the `required` tests
# (unless --docker or cwltest arguments choose others) through that profile, and writes its row
# of the "required tests by profile" table in docs/conformance.md. Slurm runs its steps in Podman
# when it runs here (the profile takes apptainer or podman, never docker), else without
# containers; HTCondor without (the pool's chroot has no engine). Both are
# started first (scripts/cluster/*.sh start: a no-op when they run). On HTCondor the runner runs
# inside the pool's chroot (htcondor.sh exec, through build/conformance/htcondor-runner.sh), with
# each test's output folder handed to the pool's user.
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
profile=""
selection=()
full=1
while [ $# -gt 0 ]; do
  case "$1" in
    --required) selection=(--tags required); full=0; shift ;;
    --docker) selection=(--tags docker); full=0; shift ;;
    --container) engine="${2:?--container needs docker, podman or none}"; shift 2 ;;
    --profile) profile="${2:?--profile needs local, slurm or htcondor}"; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
row=0
if [ -n "$profile" ]; then
  case "$profile" in
    local | slurm | htcondor) ;;
    *) echo "conformance: --profile takes local, slurm or htcondor, not $profile" >&2; exit 2 ;;
  esac
  full=0
  if [ "${#selection[@]}" -eq 0 ] && [ $# -eq 0 ]; then selection=(--tags required); row=1; fi
  if [ "$profile" = slurm ] && [ -z "$engine" ]; then
    # The Slurm profile's engines are apptainer, podman, none: Podman, when it runs here.
    engine=none
    bash scripts/containers/podman.sh status >/dev/null 2>&1 && engine=podman
  fi
  if [ "$profile" = htcondor ]; then engine="${engine:-none}"; fi  # the chroot has no engine
fi
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
tool="$BIN/ossrflow-cwl-runner"
runner_args=(--container "$engine")
case "$profile" in
  slurm)
    bash scripts/cluster/slurm.sh start >&2 \
      || { echo "conformance: the Slurm test cluster does not start" >&2; exit 2; }
    runner_args+=(--profile slurm)
    ;;
  htcondor)
    bash scripts/cluster/htcondor.sh start >&2 \
      || { echo "conformance: the HTCondor test pool does not start" >&2; exit 2; }
    eval "$(bash scripts/cluster/htcondor.sh env)"
    tool="$OUT/htcondor-runner.sh"
    # cwltest makes each test's output folder as root, mode 0700: hand it to the pool's user.
    cat >"$tool" <<EOF
#!/usr/bin/env bash
# Generated by scripts/conformance.sh: ossrflow-cwl-runner inside the HTCondor pool's chroot.
for arg in "\$@"; do
  case "\$arg" in --outdir=*) mkdir -p "\${arg#--outdir=}" && chown $OSSRFLOW_HTCONDOR_UID "\${arg#--outdir=}" ;; esac
done
exec bash $REPO/scripts/cluster/htcondor.sh exec -- ossrflow-cwl-runner "\$@"
EOF
    chmod +x "$tool"
    runner_args+=(--profile htcondor)
    ;;
esac
echo "[conformance] cwltest ${selection[*]:-(all tests)} -j$JOBS, profile: ${profile:-local}, containers: $engine, in $SUITE (log: $OUT/cwltest.log)" >&2
start=$(date +%s)
# cwltest exits non-zero when any test fails; the known-failures check below decides.
(cd "$SUITE" && "$BIN/cwltest" --test conformance_tests.yaml --tool "$tool" \
  "${selection[@]}" "-j$JOBS" --junit-xml "$OUT/junit.xml" "$@" -- "${runner_args[@]}") \
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
if [ "$row" = 1 ]; then
  "$BIN/python" scripts/conformance_report.py "$OUT/junit.xml" --log "$OUT/cwltest.log" \
    --profile-row "$profile" --minutes "$minutes" --containers "$engine" --update docs/conformance.md
fi
"$BIN/python" scripts/conformance_report.py "$OUT/junit.xml" --log "$OUT/cwltest.log" \
  --check-known scripts/conformance-known-failures.txt
