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
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo
	@echo
	@echo "  Dashboard: http://127.0.0.1:8000/"
	@echo "  Log in as alice (admin), bob (member) or carol (viewer) of Acme, the image owner,"
	@echo "  or as gina (admin) of Globex, which receives Acme's images; password: $${DEMO_PASSWORD:-demo-password}"
	@echo "  Acme's webhooks go to http://127.0.0.1:8001/hook: to see them, verified, run in another"
	@echo "  terminal: make webhook-receiver"
	@echo
	$(DEMO_ENV) $(BIN)/python manage.py runserver 127.0.0.1:8000

# The demo's webhook receiver: prints Acme's events as they come, each signature verified.
.PHONY: webhook-receiver
webhook-receiver: $(VENV)/.installed
	$(DEMO_ENV) $(BIN)/python manage.py webhook_receiver

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
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

# Stock OpenStack clients (openstack, glance, openstacksdk) run the sharing workflow against the
# built-in cloud, in their own virtualenv cached by the hash of its pins in clients/ (see
# clients/run.py); `make conformance` runs them against real Glance too.
CLIENTS_VENV := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/image-sharing-dashboard/clients-$(shell cat clients/requirements.txt clients/constraints.txt | sha256sum | cut -c1-12)
.PHONY: clients
$(CLIENTS_VENV)/.complete: | check-python
	rm -rf $(CLIENTS_VENV)
	"$(PYTHON)" -m venv $(CLIENTS_VENV)
	$(CLIENTS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CLIENTS_VENV)/bin/pip install --quiet -r clients/requirements.txt -c clients/constraints.txt
	touch $@
clients: $(VENV)/.installed-dev $(CLIENTS_VENV)/.complete
	$(BIN)/python clients/run.py --clients-venv $(CLIENTS_VENV)
conformance: $(CLIENTS_VENV)/.complete
conformance: export CLIENTS_VENV := $(CLIENTS_VENV)
