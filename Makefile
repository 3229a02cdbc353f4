# The two quick-start commands: `make lab` and `make test`. Each creates .venv if needed and
# installs torch 2.13.0 (CPU build) first; `make lab` then installs seqlm with its runtime
# dependencies only, `make test` adds the dev extras (pytest, kenlm, ...).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Tiny Shakespeare for tests and the lab: ../shared/data when it holds the file
SHARED_DATA := $(abspath ../shared/data)
ifneq ($(wildcard $(SHARED_DATA)/tinyshakespeare.txt),)
export SEQLM_DATA_DIR ?= $(SHARED_DATA)
endif

# NumPy's small per-step matrix products run faster on one BLAS thread than on two that
# compete with the rest of the work (the CLI makes the same choice; override by exporting it)
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: setup setup-dev lab lab-quick test lint bench

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev

lab: setup
	$(BIN)/seqlm lab

lab-quick: setup
	$(BIN)/seqlm lab --quick

# two workers, one per core (pytest-xdist); the folders whose session fixture trains a model
# or runs a quick lab keep to one worker (tests/conftest.py). `PYTEST_WORKERS=0` runs serially.
PYTEST_WORKERS ?= 2

test: setup-dev
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadgroup

lint: setup-dev
	$(BIN)/ruff check src tests benchmarks

bench: setup-dev
	for f in benchmarks/*.py; do $(BIN)/python $$f || exit 1; done
