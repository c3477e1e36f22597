# Two commands for a fresh machine:
#   make demo   set up, then start the shop with the embedded Amazon Pay simulator
#   make test   set up, then run every test (lint, unit, integration, interop with the Node SDK,
#               and the Playwright browser suite)
#   make audit  Lighthouse on the buyer's pages (not part of make test: it takes minutes)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench audit setup setup-test clean

demo: setup
	$(BIN)/flask run

test: setup-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest e2e

# Both benchmarks run even if the first misses a target; the exit status says if either did.
bench: setup-test
	$(BIN)/python -m bench.signing; signing=$$?; \
	$(BIN)/python -m bench.checkout_load; load=$$?; \
	$(BIN)/python -m bench.ipn_verify; \
	[ $$signing -ne 0 ] && exit $$signing; exit $$load

# Lighthouse on catalog, product, cart, review, result, order and account pages, with the
# system Chromium; exits non-zero when a page misses a target (scripts/audit/audit.py).
audit: setup-test scripts/audit/node_modules/.package-lock.json
	CHROME_PATH=$${CHROME_PATH:-/usr/bin/chromium} $(BIN)/python scripts/audit/audit.py

setup: $(VENV)/.runtime

setup-test: $(VENV)/.dev tests/interop/node_modules/.package-lock.json e2e/node_modules/.package-lock.json $(VENV)/.chromium

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(VENV)/.chromium: scripts/install-chromium.sh $(VENV)/.dev
	scripts/install-chromium.sh $(BIN)/python
	touch $@

# The official Amazon Pay Node.js SDK: the independent peer of the interop tests.
tests/interop/node_modules/.package-lock.json: tests/interop/package.json tests/interop/package-lock.json
	npm ci --prefix tests/interop --no-audit --no-fund --loglevel=error

# axe-core, the accessibility engine the browser suite injects into every page (e2e/test_accessibility.py).
e2e/node_modules/.package-lock.json: e2e/package.json e2e/package-lock.json
	npm ci --prefix e2e --no-audit --no-fund --loglevel=error

# Lighthouse, pinned in scripts/audit/package-lock.json; installed by make audit only.
scripts/audit/node_modules/.package-lock.json: scripts/audit/package.json scripts/audit/package-lock.json
	npm ci --prefix scripts/audit --no-audit --no-fund --loglevel=error

clean:
	rm -rf $(VENV) tests/interop/node_modules e2e/node_modules scripts/audit/node_modules .pytest_cache
