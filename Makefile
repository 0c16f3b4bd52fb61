# The few commands a newcomer needs; README.md explains them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv

# torch first and on its own: a bare `torch` requirement pulls a multi-GB CUDA build.
# Where a local wheel folder is configured (PIP_FIND_LINKS) use it, else PyTorch's CPU index.
ifneq ($(strip $(PIP_FIND_LINKS)),)
TORCH_SOURCE := --find-links $(PIP_FIND_LINKS)
else
TORCH_SOURCE := --extra-index-url https://download.pytorch.org/whl/cpu --index-strategy unsafe-best-match
endif

export DO_NOT_TRACK := 1
export DAGSTER_DISABLE_TELEMETRY := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export WANDB_MODE ?= offline
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup run materialize ui serve docs test lint format clean

$(VENV)/.installed: pyproject.toml package-lock.json
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv
	$(UV) pip install --python $(PY) --compile-bytecode $(TORCH_SOURCE) torch==2.13.0
	$(UV) pip install --python $(PY) --compile-bytecode $(TORCH_SOURCE) -e '.[dev]'
	@# Bytecode now, for the libraries (above) and our own packages: where
	@# PYTHONDONTWRITEBYTECODE is set (CI machines, containers) every Python process would
	@# otherwise compile what it imports again, about 4 s per process that loads the graph.
	$(PY) -m compileall -q trending_assets scrapers serving
	@# The web page's D3 (package.json pins it; served locally from node_modules/).
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --silent; \
	else echo "npm not found: skipping npm ci; the web page at / will show no chart" >&2; fi
	@touch $@

setup: $(VENV)/.installed  ## create .venv and install the project

run: setup  ## materialise the whole graph, then serve the Dagster UI and the API until Ctrl-C
	$(PY) -m trending_assets.cli run

materialize: setup  ## materialise the whole graph and print a summary (FULL=1: retrain unchanged models too)
	$(PY) -m trending_assets.cli materialize $(if $(FULL),--full)

ui: setup  ## serve the Dagster UI on TRENDING_UI_PORT (3000)
	$(PY) -m trending_assets.cli ui

serve: setup  ## serve the HTTP API on TRENDING_API_PORT (8000)
	$(PY) -m trending_assets.cli serve

docs: setup  ## the dbt docs site as one HTML file: $TRENDING_DATA_DIR/dbt_docs/static_index.html
	$(PY) -m trending_assets.cli docs

# Test files run side by side on this many processes (0: one process). Most of the suite
# waits on subprocesses and servers, so 2 pays even on 2 cores; a file stays on one worker,
# so its module fixtures (one materialised demo per file) are built once. Files go out in
# collection order, the slow ones first (tests/conftest.py): xdist's default reorders them
# by test count, which sent the one-test celery file (2 minutes) out last.
TEST_WORKERS ?= 2

test: setup  ## the whole test suite (TEST_WORKERS=0: in one process)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

lint: setup  ## ruff, and the import contracts of .importlinter (the layer rules)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:  ## remove generated data: $TRENDING_DATA_DIR (./data) and $DAGSTER_HOME (./.dagster_home); keeps the venv
	rm -rf "$${TRENDING_DATA_DIR:-data}" "$${DAGSTER_HOME:-.dagster_home}" dbt_project/target dbt_project/logs
