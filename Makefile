# The two front-door commands: `make demo` and `make test`. Both create .venv on first use.
# Every Python package comes from the lock files in requirements/ (exact versions with hashes),
# so every machine, CI and the Lambda asset run the same versions; `make lock` renews them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --quiet --disable-pip-version-check
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEMO_STAMP    := $(VENV)/.demo-installed
DEV_STAMP     := $(VENV)/.dev-installed
BENCH_STAMP   := $(VENV)/.bench-installed
NODE_STAMP    := node_modules/.installed
# The browser tests (tests/pages/) drive Debian's Chromium: Playwright's own download is not
# reachable from every machine, and the distribution's package gets security updates.
CHROMIUM      := /usr/bin/chromium
# apt-get as root (CI), else through sudo; never a question on a terminal (CI has no stdin).
APT_GET       := $(if $(filter 0,$(shell id -u)),,sudo -n) env DEBIAN_FRONTEND=noninteractive apt-get
# The tool that resolves the lock files (`make lock` only; nothing else needs it).
UV_VERSION := 0.13.9
UV_COMPILE := $(BIN)/uv pip compile pyproject.toml --universal --generate-hashes \
	--python-version 3.11 --no-header --quiet
# jsii (under aws-cdk-lib) warns loudly on Node 20, which it no longer supports but runs fine.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: demo test lint typecheck unit synth bench lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# `make demo` needs the runtime only (what the Lambda asset carries) and the PREMIS XSD.
$(RUNTIME_STAMP): requirements/runtime.txt pyproject.toml | $(BIN)/python
	$(PIP) install --require-hashes -r requirements/runtime.txt
	$(PIP) install --no-deps -e .
	$(BIN)/python -m premis.schema fetch
	touch $@

# `make demo` adds waitress (`prov serve`, `prov demo --serve`: the dashboard on this machine).
$(DEMO_STAMP): requirements/demo.txt $(RUNTIME_STAMP)
	$(PIP) install --require-hashes -r requirements/demo.txt
	touch $@

# `make test` adds the test, lint, chart and CDK packages.
$(DEV_STAMP): requirements/dev.txt $(DEMO_STAMP)
	$(PIP) install --require-hashes -r requirements/dev.txt
	touch $@

$(BENCH_STAMP): requirements/bench.txt $(DEV_STAMP)
	$(PIP) install --require-hashes -r requirements/bench.txt
	touch $@

# The CDK CLI, pinned in package.json (`npx cdk ...`).
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

# Chromium for the browser tests, installed when missing.
$(CHROMIUM):
	$(APT_GET) update -qq
	$(APT_GET) install -y -qq --no-install-recommends chromium

demo: $(DEMO_STAMP)
	$(BIN)/prov demo

test: lint typecheck unit

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

unit: $(DEV_STAMP) $(NODE_STAMP) $(CHROMIUM)
	$(BIN)/pytest -n 2

# The CloudFormation templates of the `dev` stage (STAGE=prod for another), checked by cdk-nag.
synth: $(DEV_STAMP) $(NODE_STAMP)
	npx cdk synth --quiet -c stage=$(or $(STAGE),dev)

bench: $(BENCH_STAMP)
	$(BIN)/python bench/run_all.py

# Resolve the lock files again from pyproject.toml (newest versions it allows, for every
# platform and Python it supports); each later file is held to the versions of the one before.
lock: | $(BIN)/python
	$(PIP) install 'uv==$(UV_VERSION)'
	$(UV_COMPILE) -o requirements/runtime.txt
	$(UV_COMPILE) --extra serve -c requirements/runtime.txt -o requirements/demo.txt
	$(UV_COMPILE) --extra dev -c requirements/demo.txt -o requirements/dev.txt
	$(UV_COMPILE) --extra dev --extra bench -c requirements/dev.txt -o requirements/bench.txt

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache node_modules cdk.out .build
