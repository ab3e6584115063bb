# Sessions — the two quick-start commands are `make run` and `make test`.
# Everything installs itself: the virtualenv, Python packages (with Node from PyPI), and for
# tests Debian's Chromium. REFLEX_USE_NPM=1 because bun cannot be downloaded here.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export REFLEX_USE_NPM := 1
export REFLEX_TELEMETRY_ENABLED := false
FRONTEND_PORT ?= 3000
BACKEND_PORT ?= 8000

.PHONY: run install install-test migrate test test-unit test-e2e lint format prod bench clean screenshot \
	services-install services-start services-stop

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

.stamp-install: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

.stamp-install-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch .stamp-install $@

install: .stamp-install

# Debian's Chromium for Playwright (never `playwright install`: it downloads browsers).
/usr/bin/chromium:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null

# PostgreSQL and Redis from Debian's packages (the scaled-out e2e test and `make prod`).
services-install:
	@scripts/services.sh install

install-test: .stamp-install-test /usr/bin/chromium services-install

migrate: install
	@mkdir -p data
	$(BIN)/alembic upgrade head

run: migrate
	$(BIN)/reflex run --frontend-port $(FRONTEND_PORT) --backend-port $(BACKEND_PORT)

# Unit and end-to-end tests run as two pytest processes: after a Playwright (sync API) test
# the main thread keeps an event loop running, where unit tests' asyncio.run is refused.
# Both run on pytest-xdist workers; each e2e worker has its own app (the frontend is built once).
UNIT_WORKERS ?= auto
E2E_WORKERS ?= 2
test: install-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest tests/unit -n $(UNIT_WORKERS)
	$(BIN)/python -m pytest tests/e2e -n $(E2E_WORKERS) --dist loadgroup

test-unit: install-test
	$(BIN)/python -m pytest tests/unit -n $(UNIT_WORKERS)

test-e2e: install-test
	$(BIN)/python -m pytest tests/e2e -n $(E2E_WORKERS) --dist loadgroup

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
.stamp-install-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[bench]'
	touch .stamp-install $@

bench: .stamp-install-bench services-install
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf .web .states .stamp-* data/sessions.db*
