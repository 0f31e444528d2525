# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# Numba's on-disk cache lives in the project so it survives between runs and is always writable.
export NUMBA_CACHE_DIR ?= $(CURDIR)/.cache/numba

.PHONY: demo test lint format bench peer-env clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11+ or run 'make PYTHON=python3 ...'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed-demo

demo: $(VENV)/.installed-demo
	$(BIN)/volengine demo

test: $(VENV)/.installed-test
	$(BIN)/ruff check volengine tests benchmarks
	$(BIN)/ruff format --check volengine tests benchmarks
	$(BIN)/python -m volengine.kernels
	$(BIN)/python -m pytest -m "not slow" -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check volengine tests benchmarks
	$(BIN)/ruff format --check volengine tests benchmarks

format: $(VENV)/.installed-test
	$(BIN)/ruff format volengine tests benchmarks
	$(BIN)/ruff check --fix volengine tests benchmarks

bench: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/volengine bench kernels

# The optopsy peer of `volengine bench backtest` (optopsy 2.3 needs Python 3.12), in its own venv. The first
# candidate that really runs 3.12 wins: a pyenv shim for python3.12 exists even when pyenv cannot run it.
PY312 ?= $(shell for p in python3.12 /root/.pyenv/versions/3.12*/bin/python; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1 && { command -v "$$p"; break; }; \
	done)
PEER_VENV ?= .venv-optopsy

peer-env:
	@test -n "$(PY312)" || { echo "error: no Python 3.12 found; run 'make peer-env PY312=/path/to/python3.12'"; exit 1; }
	$(PY312) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PEER_VENV)/bin/python -m pip install --quiet optopsy==2.3.0
	@echo "peer ready: volengine bench backtest --peer-python $(PEER_VENV)/bin/python"

clean:
	rm -rf $(VENV) .cache .pytest_cache build *.egg-info
