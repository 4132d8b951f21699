# ossrflow: two commands do everything on a fresh machine.
#   make demo   create .venv if needed, install, run the bundled example workflow (local profile)
#   make test   install test tools, start the test services (schedulers, container engines,
#               PostgreSQL, Rucio, Chromium), run lint, types and the whole suite
# Other targets: make check (lint/types/contracts/doc examples), make conformance, make bench, make cli-docs.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.ossrflow-installed
PYTEST_ARGS ?=

.PHONY: demo test check pytest install clusters clusters-stop conformance conformance-required bench cli-docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --editable '.[dev]'
	@touch $@

# Byte-compile ossrflow's own modules (an editable install has none, and PYTHONDONTWRITEBYTECODE
# would make every ossrflow process compile them again); only changed files are compiled.
install: $(STAMP)
	@$(BIN)/python -m compileall -q src

demo: install
	$(BIN)/python workflows/demo/run_demo.py

check: install
	$(BIN)/ruff format --check src tests benchmarks scripts workflows
	$(BIN)/ruff check src tests benchmarks scripts workflows
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python scripts/cli_help.py --check docs/cli.txt
	$(BIN)/python scripts/check_changelog.py CHANGELOG.md
	$(BIN)/python scripts/check_docs.py

clusters:
	bash scripts/start-test-clusters.sh

clusters-stop:
	-bash scripts/services/rucio.sh stop
	-bash scripts/services/postgres.sh stop
	-bash scripts/cluster/slurm.sh stop
	-bash scripts/cluster/htcondor.sh stop
	-bash scripts/containers/dockerd.sh stop
	-bash scripts/containers/podman.sh stop

pytest: install
	$(BIN)/pytest $(PYTEST_ARGS)

test: check clusters pytest conformance-required

# make conformance PROFILE=slurm|htcondor: the required tests through that profile (docs/conformance.md).
conformance: install
	bash scripts/conformance.sh $(if $(PROFILE),--profile $(PROFILE))

conformance-required: install
	bash scripts/conformance.sh --required

# N=100,1000 x3 against cwltool --parallel (toil when installed) + no-op rerun; more in docs/performance.md,
# e.g. make bench BENCH_ARGS='--sizes 5000 --repeat 1' or BENCH_ARGS='--runners none --slurm';
# then the required conformance tests under ossrflow and cwltool (CONFORMANCE_BENCH_ARGS='-- -n 1-10'),
# and the composed demo under both (DEMO_BENCH_ARGS='--repeat 1 --reuse').
bench: install
	$(BIN)/python benchmarks/scatter.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/match_bench.py
	$(BIN)/python benchmarks/serve_load.py
	$(BIN)/python benchmarks/conformance_time.py $(CONFORMANCE_BENCH_ARGS)
	$(BIN)/python benchmarks/demo_time.py $(DEMO_BENCH_ARGS)

cli-docs: install
	$(BIN)/python scripts/cli_help.py --write docs/cli.txt

clean:
	rm -rf .mypy_cache .ruff_cache .pytest_cache build dist
