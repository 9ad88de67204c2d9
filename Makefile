# Targets used by the README and by .ci/run. The package is installed non-editable into .venv,
# so the tests exercise exactly what `pip install .` ships (package data included).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SOURCES := $(shell find mismarterad -type f ! -name '*.pyc' ! -path '*/__pycache__/*' 2>/dev/null) pyproject.toml

.PHONY: install demo test test-fast lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python $(SOURCES)
	$(BIN)/pip install --quiet '.[test]'
	touch $(STAMP)

install: $(STAMP)

## The main job: what a new user runs first. Imports the bundled real bars (idempotent),
## backtests the shipped SPY config on them (report in ./demo-report), then runs the real daemon
## through 2011-01-04 on the replay clock and checks its trades against the backtest's.
demo: install
	$(BIN)/mismarterad data sample
	$(BIN)/mismarterad backtest session_configs/spy_2011_backtest.json --out demo-report
	@echo; cat demo-report/summary.json; echo
	ops/demo/replay_day.sh $(BIN) 2011-01-04 1200

## Everything CI runs: architecture check, then the whole test suite (slow tests included), on
## four workers (pytest-xdist; a test file stays on one worker, so its module fixtures are built
## once). Four on CI's two cores: the longest tests are replayed days that wait on their clocks
## (a venue parity day uses a tenth of a core), so two workers left the cores half idle.
test: install lint
	$(BIN)/pytest -p no:cacheprovider -n 4 --dist loadfile

## The quick loop for development: no slow tests.
test-fast: install
	$(BIN)/pytest -p no:cacheprovider -m "not slow"

lint: install
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check --no-cache mismarterad tests bench tools

clean:
	rm -rf $(VENV) build *.egg-info
