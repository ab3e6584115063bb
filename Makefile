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

.PHONY: run install install-test migrate test test-unit test-e2e lint format prod bench clean screenshot

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

install-test: .stamp-install-test /usr/bin/chromium

migrate: install
	@mkdir -p data
	$(BIN)/alembic upgrade head

run: migrate
	$(BIN)/reflex run --frontend-port $(FRONTEND_PORT) --backend-port $(BACKEND_PORT)

test: install-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest tests

test-unit: install-test
	$(BIN)/python -m pytest tests/unit

test-e2e: install-test
	$(BIN)/python -m pytest tests/e2e

lint: install-test
	$(BIN)/ruff check .

format: install-test
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf .web .states .stamp-* data/sessions.db*
