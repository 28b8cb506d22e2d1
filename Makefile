# meetstore: `make run` serves on embedded defaults; `make test` installs what tests need and runs them.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PYTEST  := $(BIN)/python -m pytest

.PHONY: run test lint typecheck test-fast test-reliability bench install clean lock local-aws screenshots

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Every dependency comes from the lock, pinned and checked against its hashes, so a fresh machine
# installs what CI tested; meetstore itself is then installed from this tree without dependencies.
$(STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install -q --require-hashes -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

# Re-resolve the dependencies of pyproject.toml (runtime and test) into requirements.lock, with hashes.
lock: | $(BIN)/python
	$(BIN)/python -m pip install -q pip-tools
	$(BIN)/pip-compile --quiet --extra test --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links --output-file requirements.lock pyproject.toml

install: $(STAMP)

run: $(STAMP)
	$(BIN)/meetstore run

# A stand-in for your AWS on 127.0.0.1 (rclone serve s3 and moto with IAM enforced), for local
# development only; `make local-aws LOCAL_AWS_ARGS="--dir D --s3-port P --iam-port Q"`.
local-aws: $(STAMP)
	$(BIN)/meetstore local-aws $(LOCAL_AWS_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports

# The console's browser tests drive Debian's Chromium (Playwright's own download cannot run here).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

test: $(STAMP) $(CHROMIUM)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports
	$(PYTEST) -m "not slow and not screenshots" -q

# docs/console/*.png, from the same browser and server as the console's tests.
screenshots: $(STAMP) $(CHROMIUM)
	$(PYTEST) -m screenshots -q -p no:randomly tests/e2e/test_console_screenshots.py

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
