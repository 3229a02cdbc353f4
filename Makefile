# The two quick-start commands: `make lab` and `make test`. Each creates .venv if needed,
# installs torch 2.13.0 (CPU build) first, then seqlm with its dev extras.
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

.PHONY: setup lab lab-quick test lint bench

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

lab: setup
	$(BIN)/seqlm lab

lab-quick: setup
	$(BIN)/seqlm lab --quick

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check src tests benchmarks

bench: setup
	for f in benchmarks/*.py; do $(BIN)/python $$f || exit 1; done
