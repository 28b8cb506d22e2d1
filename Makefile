# meetstore: `make run` serves on embedded defaults; `make test` installs what tests need and runs them.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PYTEST  := $(BIN)/python -m pytest

.PHONY: run test lint typecheck test-fast test-reliability bench install clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/meetstore run

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports
	$(PYTEST) -m "not slow" -q

test-fast: $(STAMP)
	$(PYTEST) tests/unit -q

test-reliability: $(STAMP)
	$(PYTEST) -m slow -q

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

bench-%: $(STAMP)
	$(BIN)/python -m bench.run_all $*

clean:
	rm -rf $(VENV) .meetstore .mypy_cache .ruff_cache
