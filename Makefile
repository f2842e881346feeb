# fc-capacity: `make demo` and `make test` set everything up from the lock file on a fresh machine.
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
# Bytecode compiled once at install: where PYTHONDONTWRITEBYTECODE is set (as on our CI machines), every
# process otherwise compiles Dagster, pandas and pyarrow from source at each start (4.8 -> 1.9 s per
# import of pipelines.definitions; every Dagster run and step process pays it).
export UV_COMPILE_BYTECODE := 1

# Emulator defaults for `make dev` (fake keys the bundled emulator accepts).
DEV_PORT ?= 9100
DEV_ENV := DAGSTER_HOME=$(CURDIR)/data/dev/dagster FCCAP_TARGETS=pipelines/emulator/targets.yaml \
	FCCAP_STORE=data/dev/store ALIBABA_CLOUD_ACCESS_KEY_ID=fccap-emulator-ak \
	ALIBABA_CLOUD_ACCESS_KEY_SECRET=fccap-emulator-secret

.PHONY: setup demo test check bench dev clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock Makefile | $(UV)
	$(UV) sync --locked --quiet
	touch $@

setup: $(VENV)/.synced  ## create .venv from uv.lock

demo: setup  ## emulator + Dagster tick runs + capacity report
	$(BIN)/fccap demo

test: setup  ## the whole test suite, in a zone far from UTC (tests/cli/test_time_zones.py compares both)
	TZ=Asia/Shanghai $(BIN)/pytest

check: setup  ## lint, format and type checks
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pyright

bench: setup  ## performance figures vs targets and same-run baselines, 127.0.0.1 only (BENCH_JSON=path also writes JSON)
	$(BIN)/python -m pipelines.bench

dev: setup  ## emulator + `dagster dev` (UI on http://127.0.0.1:3000)
	mkdir -p data/dev/dagster data/dev/store
	test -f data/dev/dagster/dagster.yaml || printf 'telemetry:\n  enabled: false\n' > data/dev/dagster/dagster.yaml
	$(BIN)/fccap emulator --port $(DEV_PORT) & pid=$$!; trap "kill $$pid" EXIT INT TERM; \
	$(DEV_ENV) $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

clean:  ## remove the environment and all local data
	rm -rf $(VENV) $(TOOLS) data
