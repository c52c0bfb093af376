# `make run` and `make test` set up everything they need, idempotently:
# a virtual environment with the pinned packages, and the browser's
# Socket.IO client from npm (package-lock.json).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test setup setup-dev browser redis bench clean

run: setup
	$(PY) app.py --host $(HOST) --port $(PORT)

test: setup-dev browser redis
	$(PY) -m pytest $(PYTEST_ARGS)

setup: $(VENV)/.runtime node_modules/.installed
setup-dev: setup $(VENV)/.dev

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

# Debian's Chromium for the browser tests (no browser download by Playwright).
browser:
	@.ci/ensure-chromium

# Debian's redis-server for the multi-process tests (they start their own).
redis:
	@.ci/ensure-redis

bench: setup-dev browser
	$(PY) benchmarks/engine.py
	$(PY) benchmarks/history.py
	$(PY) benchmarks/server.py
	$(PY) benchmarks/attacks.py
	$(PY) benchmarks/rooms.py
	$(PY) benchmarks/processes.py
	$(PY) benchmarks/render.py

clean:
	rm -rf $(VENV) node_modules
