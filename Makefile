# Sessions — the quick-start commands are `make run` (production mode), `make dev` (hot
# reload, for developers) and `make test`.
# Everything installs itself: the virtualenv, Python packages (with Node from PyPI), and for
# tests Debian's Chromium. REFLEX_USE_NPM=1 because bun cannot be downloaded here.
# Installs print pip's progress (no --quiet): a first run must not look frozen.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export REFLEX_USE_NPM := 1
export REFLEX_TELEMETRY_ENABLED := false
FRONTEND_PORT ?= 3000
BACKEND_PORT ?= 8000
export FRONTEND_PORT BACKEND_PORT
# --no-compile: Python compiles what it imports on first use; compiling every installed module
# up front cost a fresh install about 6 s.
PIP_INSTALL := $(BIN)/pip install --progress-bar off --no-compile

.PHONY: run dev install install-test migrate test test-unit test-postgres test-e2e lint format prod bench clean \
	services-install services-start services-stop

$(BIN)/python:
	@echo "==> Creating the virtualenv $(VENV)"
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The stamps live inside the virtualenv: deleting .venv also forgets what was installed in it.
$(VENV)/.stamp-install: pyproject.toml | $(BIN)/python
	@echo "==> Installing the Python packages (Reflex, Node from PyPI, ...): about a minute the first time"
	$(PIP_INSTALL) -e .
	touch $@

$(VENV)/.stamp-install-test: pyproject.toml | $(BIN)/python
	@echo "==> Installing the Python packages with the test tools"
	$(PIP_INSTALL) -e '.[test]'
	touch $(VENV)/.stamp-install $@

install: $(VENV)/.stamp-install

# Debian's Chromium for Playwright (never `playwright install`: it downloads browsers): its
# headless shell, the lighter old-headless build Playwright uses for headless runs
# (tests/support/browser.py says what it saves).
/usr/bin/chromium-headless-shell:
	@echo "==> Installing Debian's chromium-headless-shell for the browser tests"
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium-headless-shell >/dev/null

# PostgreSQL and Redis from Debian's packages (the scaled-out e2e test and `make prod`).
services-install:
	@scripts/services.sh install

install-test: $(VENV)/.stamp-install-test /usr/bin/chromium-headless-shell services-install

migrate: install
	@mkdir -p data
	$(BIN)/alembic upgrade head

# Production mode: compiled frontend, no hot reload (scripts/run.sh: ports, Ctrl-C).
run: migrate
	@scripts/run.sh  # production mode: reflex run --env prod (compiled frontend, no reloader)

# Developers' hot reload. By default the reloader watches every top-level entry of the project
# except hidden directories: the SQLite database's -wal/-shm files in data/ (rewritten on every
# read), test runs' lock files and caches all restarted the backend. It watches the app's code
# (sessions_app/ and rxconfig.py) and nothing else.
dev: migrate
	PUBLIC_URL=$${PUBLIC_URL:-http://localhost:$(FRONTEND_PORT)} \
	BACKEND_URL=$${BACKEND_URL:-http://localhost:$(BACKEND_PORT)} \
	REFLEX_HOT_RELOAD_OVERRIDE_PATHS=$(CURDIR)/sessions_app:$(CURDIR)/rxconfig.py $(BIN)/reflex run \
		--frontend-port $(FRONTEND_PORT) --backend-port $(BACKEND_PORT)

# Unit and end-to-end tests run as two pytest processes: after a Playwright (sync API) test
# the main thread keeps an event loop running, where unit tests' asyncio.run is refused.
# Both run on pytest-xdist workers; each e2e worker has its own app (the frontend is built once).
UNIT_WORKERS ?= auto
E2E_WORKERS ?= 4
# Tests marked `timing` (other users' latency under floods, on a backend of their own) run
# first, in their own pytest run: no test runs beside them, only the background frontend build
# (one core; it only makes their latency limits harder to meet). The e2e run needs that build.
# Each e2e file is one unit of work (`--dist loadfile`): a file's module fixtures (the scaled
# module's PostgreSQL + Redis + 2-worker app, an app of its own, the calls' browser) start once.
# (`xdist_group` marks do nothing with pytest 9: xdist 3.8 renames items through an attribute
# pytest no longer reads, and the scaled module's servers started on 2-3 workers.) Files go out
# in the collection's order, longest first (tests/e2e/conftest.py), not xdist's by test count.
E2E_PARALLEL = $(BIN)/python -m pytest tests/e2e -n $(E2E_WORKERS) --dist loadfile --no-loadscope-reorder -m "not timing" --durations=12
E2E_ALONE = $(BIN)/python -m pytest tests/e2e -m timing
# The unit suite runs twice, with the app's clock (`utcnow`) at 23:40 and at 00:05 UTC
# (tests/unit/conftest.py): a test that assumes "in an hour is still today" or "an hour ago
# was today" fails on every run, not only when CI happens to run near midnight.
UNIT_AT_DAY_EDGES = UNIT_TIME_OF_DAY=23:40 $(BIN)/python -m pytest tests/unit -n $(UNIT_WORKERS) -q \
	&& UNIT_TIME_OF_DAY=00:05 $(BIN)/python -m pytest tests/unit -n $(UNIT_WORKERS) -q
# The e2e frontend build (a minute of mostly one core) runs in the background while ruff, the
# timing tests and the unit tests run; the e2e run then finds it (same E2E_RUN_ID). The e2e run does not wait for it:
# its first tests (`make run`, `make dev`) build their own, and every other worker's app waits
# for the build lock the prebuild holds. If the prebuild failed, the first e2e app builds.
test: install-test
	@echo "==> ruff, the timing tests, the unit tests at 23:40 and 00:05 UTC (the e2e frontend builds meanwhile, log in .e2e-prebuild.log)"
	@export E2E_RUN_ID=make-$$$$-$$(date +%s); \
	$(BIN)/python -m tests.support.prebuild > .e2e-prebuild.log 2>&1 & prebuild=$$!; \
	trap 'kill $$prebuild 2>/dev/null; exit 130' INT TERM; \
	$(BIN)/ruff check . && $(E2E_ALONE) && $(UNIT_AT_DAY_EDGES) && $(E2E_PARALLEL); \
	status=$$?; kill $$prebuild 2>/dev/null; wait $$prebuild 2>/dev/null; exit $$status

test-unit: install-test
	$(BIN)/python -m pytest tests/unit -n $(UNIT_WORKERS)

# The unit suite on PostgreSQL (a throwaway cluster per test process, row-level security on).
test-postgres: install-test
	UNIT_DB=postgres $(BIN)/python -m pytest tests/unit -n $(UNIT_WORKERS)

test-e2e: install-test
	export E2E_RUN_ID=make-$$$$-$$(date +%s); $(E2E_ALONE) && $(E2E_PARALLEL)

lint: install-test
	$(BIN)/ruff check .

format: install-test
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

# Production: compiled frontend + 2 granian workers on one port (PROD_PORT, default 8000),
# PostgreSQL + Redis on loopback under data/services; Ctrl-C stops everything.
prod: install services-install
	scripts/prod.sh

services-start: services-install
	scripts/services.sh start

services-stop:
	scripts/services.sh stop

# Benchmark against a bare python-socketio relay (the floor): bench/results/latest.md + PNG.
# BENCH_ARGS="--workers 1" for one mode, "--quick" for a short smoke run.
BENCH_ARGS ?=
$(VENV)/.stamp-install-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $(VENV)/.stamp-install $@

bench: $(VENV)/.stamp-install-bench services-install
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf .web .web-* .states $(VENV)/.stamp-* data/sessions.db*
