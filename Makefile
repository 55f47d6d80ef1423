# wuye-credit. `make` alone lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV := .venv
PY := $(VENV)/bin/python
# Re-installs only when pyproject.toml is newer than the last install.
INSTALLED := $(VENV)/.installed
# Python 3.11 exactly (Django 5.2 LTS and the pins were checked against it): `python3.11`, or
# `python3` when that is 3.11.
PYTHON311 := $(shell command -v python3.11 2>/dev/null || \
	{ python3 -c 'import sys; raise SystemExit(sys.version_info[:2] != (3, 11))' 2>/dev/null \
	  && command -v python3; })

.PHONY: help install run tender-client test lint bench clean app

help: ## List the targets
	@echo "wuye-credit: make <target>"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  %-8s %s\n", $$1, $$2}' \
		$(MAKEFILE_LIST)

$(INSTALLED): pyproject.toml
	@test -n "$(PYTHON311)" || { echo "Python 3.11 is required: install python3.11" >&2; exit 1; }
	test -x $(PY) || $(PYTHON311) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(INSTALLED) ## Create .venv with Python 3.11 and install the project and dev tools

# Embedded mode: SQLite, local object folder, eager tasks; nothing else to install.
run: export DEBUG := 1
run: export CREDIT_OBJECTION_WORKING_DAYS := 0
run: install ## Migrate, load demo data (once) and serve http://127.0.0.1:8000
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver 127.0.0.1:8000

# The same embedded settings as `make run` (its SQLite database and demo data).
tender-client: export DEBUG := 1
tender-client: install ## Create a tender-platform client for the demo: make tender-client NAME=平台名称
	$(PY) manage.py create_tender_client "$(or $(NAME),演示招投标平台)"

# The inspector web app (/m/): its build is committed, so only those who change
# inspector_app/web/src need node (≥ 18); `npm ci` installs the pinned lock file.
app: ## Rebuild the inspector web app (inspector_app/build) from inspector_app/web; needs node
	@command -v node >/dev/null || { echo "node ≥ 18 is required to rebuild the web app" >&2; exit 1; }
	cd inspector_app/web && npm ci --no-audit --no-fund && node build.mjs

test: install ## Lint, check import layers, run the whole test suite
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

lint: install ## ruff check, ruff format --check, import-linter contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

bench: install ## Run every bench/bench_*.py, then write docs/performance.md
	@set -e; for script in bench/bench_*.py; do \
		[ -e "$$script" ] || continue; \
		echo "== $$script"; $(PY) "$$script"; \
	done
	@if [ -f bench/summarise.py ]; then $(PY) bench/summarise.py; \
	else echo "bench/summarise.py not found: results stay in bench/results/"; fi

clean: ## Remove caches (keeps .venv and var/, your local database and objects)
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache .hypothesis var/static

.PHONY: load
# LOAD_ARGS passes options through, e.g. `make load LOAD_ARGS="--duration 60"`.
load: install ## Load test: 200 inspectors + 50 tender + 20 public req/s for 5 min (bench/load)
	$(PY) bench/load/runner.py $(LOAD_ARGS)

.PHONY: fuzz
fuzz: install ## Long schemathesis pass over the mobile, bureau and tender APIs (~10 min)
	$(PY) -m pytest tests/fuzz -m fuzz_long -p no:cacheprovider

.PHONY: faults
faults: install ## Heavier fault-injection scenarios (repeated faults; the rest run in `make test`)
	$(PY) -m pytest tests/faults -m faults_long -p no:cacheprovider
