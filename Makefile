# The two commands a new user needs: `make demo` and `make test`.
# Each creates .venv with Python 3.12 and installs what it needs.

# python3.12 on the PATH, else pyenv's (even when pyenv's shims are not on the PATH).
PYENV_ROOT ?= $(HOME)/.pyenv
PYTHON ?= $(firstword $(shell command -v python3.12 2>/dev/null) \
	$(lastword $(sort $(wildcard $(PYENV_ROOT)/versions/3.12*/bin/python3.12))))
VENV := .venv
BIN := $(VENV)/bin
DEMO_ENV := DEMO=1 DEBUG=1

.PHONY: demo test lint format clean check-python

check-python:
	@if [ -z "$(PYTHON)" ] || ! "$(PYTHON)" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then \
		echo "Python 3.12 is required but was not found: install it (for example 'pyenv install 3.12') and run make again."; \
		exit 1; \
	fi

$(BIN)/python: | check-python
	"$(PYTHON)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(DEMO_ENV) $(BIN)/python manage.py migrate --no-input
	$(DEMO_ENV) $(BIN)/python manage.py createcachetable
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo
	@echo
	@echo "  Dashboard: http://127.0.0.1:8000/"
	@echo "  Log in as alice (admin), bob (member) or carol (viewer); password: $${DEMO_PASSWORD:-demo-password}"
	@echo
	$(DEMO_ENV) $(BIN)/python manage.py runserver 127.0.0.1:8000

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Real OpenStack Glance 33.0.0 (its own cached Python 3.11 venv) against the built-in cloud and
# the client: see conformance/run.py.
.PHONY: conformance
conformance: $(VENV)/.installed-dev
	$(BIN)/python conformance/run.py

# The fault campaign (bench/faults.py): shares and revokes from two processes on PostgreSQL
# against the built-in cloud with a third of member calls faulted; CI runs 200 operations.
.PHONY: faults
faults: $(VENV)/.installed-dev
	$(BIN)/python bench/faults.py $(FAULTS_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var db.sqlite3 staticfiles
