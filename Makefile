# CareerCenter: the two commands are `make run` and `make test` (see README.md).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Rebuilt only when the dependencies change, so `make install` is fast when nothing did.
STAMP := $(VENV)/.careers-installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help install meilisearch axe-core vendor run test test-repeat constraints clean

help:
	@echo "make run        install, migrate and serve CareerCenter on http://$(HOST):$(PORT)"
	@echo "make test       install, then run the whole test suite (SQLite, then PostgreSQL if TEST_POSTGRES_URL is set)"
	@echo "make test-repeat N=3  run the whole suite N times in a row; stops at the first failing run and names it"
	@echo "make install    create .venv, install the package, localstripe and the Meilisearch binary (idempotent)"
	@echo "make constraints  re-pin constraints.txt from the current .venv"

install: $(STAMP) meilisearch axe-core vendor

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "CareerCenter needs Python 3.11 or newer (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)

# The `dev` extra brings localstripe (the Stripe emulator); production installs `pip install .` without it.
# (The grep drops pip's warnings about index folders this machine's pip.conf names but lacks.)
$(STAMP): $(PY) pyproject.toml constraints.txt
	set -o pipefail; $(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test,dev]' 2>&1 \
	  | { grep -v -e "is ignored: it is neither a file nor a directory" || true; }
	@touch $@

meilisearch:
	@scripts/install_meilisearch.sh

# axe-core for the browser accessibility tests, pinned by tests/e2e/package-lock.json (npm ci; no npm: those tests skip loudly, or fail under CI).
AXE := tests/e2e/node_modules/axe-core/axe.min.js
axe-core: $(AXE)

$(AXE): tests/e2e/package.json tests/e2e/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	    npm ci --prefix tests/e2e --no-audit --no-fund --ignore-scripts --loglevel=error && touch $@; \
	else echo "axe-core: npm not found (Debian: apt-get install npm); the accessibility tests will skip"; fi

# Browser code we serve from our own /static (Swagger UI for /schema), pinned by static/vendor/package-lock.json
# (npm ci; no npm: /schema stays blank, its browser test skips loudly, or fails under CI).
VENDOR := static/vendor/node_modules/swagger-ui-dist/swagger-ui-bundle.js
vendor: $(VENDOR)

$(VENDOR): static/vendor/package.json static/vendor/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	    npm ci --prefix static/vendor --no-audit --no-fund --ignore-scripts --loglevel=error && touch $@; \
	else echo "vendor: npm not found (Debian: apt-get install npm); the API docs at /schema will be blank"; fi

# `careers serve` applies the migrations before anything starts, then serves until Ctrl-C.
run: install
	exec $(VENV)/bin/careers serve --host $(HOST) --port $(PORT)

test: install
	@scripts/run_tests.sh

# The whole suite N times in a row (both engines each time when TEST_POSTGRES_URL is set): a flaky test shows here.
N ?= 3
test-repeat: install
	@for run in $$(seq 1 $(N)); do \
	    echo "==================== test-repeat: run $$run of $(N) ===================="; \
	    if ! scripts/run_tests.sh; then echo "test-repeat: run $$run of $(N) FAILED"; exit 1; fi; \
	done; echo "test-repeat: all $(N) runs passed"

# Re-pin from the current .venv (install new dependencies into it first); the project itself is left out.
constraints: $(STAMP)
	@{ echo "# Pinned versions of every dependency, for repeatable installs: pip install -c constraints.txt -e '.[test,dev]'"; \
	   echo "# Regenerate after changing dependencies: make constraints"; \
	   $(PY) -m pip freeze --exclude-editable | grep -v -i -E '^(#|careercenter)'; } > constraints.txt.new
	@if cmp -s constraints.txt.new constraints.txt; then rm constraints.txt.new; else mv constraints.txt.new constraints.txt; fi
	@touch $(STAMP)
	@echo "constraints.txt: $$(grep -c '==' constraints.txt) pins"

clean:
	rm -rf $(VENV) .tools build *.egg-info tests/e2e/node_modules static/vendor/node_modules
