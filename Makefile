# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# Numba's on-disk cache lives in the project so it survives between runs and is always writable.
export NUMBA_CACHE_DIR ?= $(CURDIR)/.cache/numba

.PHONY: demo test lint format bench clean

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

clean:
	rm -rf $(VENV) .cache .pytest_cache build *.egg-info
