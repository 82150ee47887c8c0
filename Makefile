# Huiju's front door. `make demo` and `make test` work on a fresh machine:
# each first builds the locked virtual environment (.venv) with uv.
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
RUN := $(VENV)/bin


.PHONY: setup demo test test-unit test-integration test-airflow lint bench bench-e2e faults clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# The project itself is installed editable, so uv compiles only its dependencies: compile its
# packages too, or every command compiles them again (this machine sets PYTHONDONTWRITEBYTECODE;
# a source edited later is recompiled in memory, never run from a stale .pyc).
PACKAGES := huiju schemas connectors expectations warehouse simulator reports dags

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode
	$(RUN)/python -m compileall -q $(PACKAGES)
	touch $@

setup: $(VENV)/.synced

demo: setup
	$(RUN)/huiju demo

test: setup
	$(RUN)/python -m pytest $(PYTEST_ARGS)

# The fault and bad-input suites in full (>= 100 kill points, PostgreSQL restarted mid-load;
# a suite may take longer than make test's 15-minute limit per test),
# ending with the tally; `make test` runs a fast subset of the same suites.
faults: setup
	HUIJU_FAULTS_FULL=1 HUIJU_REQUIRE_SERVICES=1 $(RUN)/python -m pytest tests/faults -p no:cacheprovider --timeout 3600
# One tier at a time: unit (no services, seconds), integration (PostgreSQL, MariaDB, files,
# HTTP), airflow (real Airflow runs of the DAGs).
test-unit: setup
	$(RUN)/python -m pytest tests/unit $(PYTEST_ARGS)

test-integration: setup
	$(RUN)/python -m pytest tests/integration $(PYTEST_ARGS)

test-airflow: setup
	$(RUN)/python -m pytest tests/airflow $(PYTEST_ARGS)

lint: setup
	$(RUN)/ruff check .

bench: setup
	$(RUN)/python -m benchmarks

# End to end against the peers (dlt, pandas + GX, the raw client pipe): syncs the
# benchmark-only dependency group first. BENCH_ARGS="--rows 100000" for a quick run.
bench-e2e: $(UV)
	$(UV) sync --frozen --compile-bytecode --group bench
	$(RUN)/python -m compileall -q $(PACKAGES)
	$(RUN)/python -m benchmarks e2e $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) var
