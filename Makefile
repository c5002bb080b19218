# The two commands a new user needs: `make demo` and `make test`.
# Each creates .venv with Python 3.12 and installs what it needs.

# python3.12 on the PATH, else pyenv's (even when pyenv's shims are not on the PATH).
PYENV_ROOT ?= $(HOME)/.pyenv
PYTHON ?= $(firstword $(shell command -v python3.12 2>/dev/null) \
	$(lastword $(sort $(wildcard $(PYENV_ROOT)/versions/3.12*/bin/python3.12))))
VENV := .venv
BIN := $(VENV)/bin
# The demo's ledger signing key is made once and kept in var/ (see README, "Verifying the ledger").
DEMO_ENV := DEMO=1 DEBUG=1 LEDGER_SIGNING_KEY=$$(cat var/ledger-signing-key)

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

var/ledger-signing-key: | $(BIN)/python
	mkdir -p var
	(umask 077; $(BIN)/python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())" > $@)

# DEMO_SSO=1 also runs the example OpenID Connect provider (tests/oidc/provider.mjs) on 127.0.0.1:8010
# with the user sso-alice / demo-password in group img-acme-admin; the log-in page offers it.
SSO_ENV := $(if $(filter 1,$(DEMO_SSO)),OIDC_ISSUER=http://127.0.0.1:8010 OIDC_CLIENT_ID=dashboard \
	OIDC_CLIENT_SECRET=dashboard-secret OIDC_NAME="Example SSO",)
demo: $(VENV)/.installed var/ledger-signing-key $(if $(filter 1,$(DEMO_SSO)),oidc-provider)
	$(DEMO_ENV) $(BIN)/python manage.py migrate --no-input
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo
	@echo
	@echo "  Dashboard: http://127.0.0.1:8000/"
	@echo "  Log in as alice (admin), bob (member), carol (viewer) or audrey (auditor) of Acme, the image owner,"
	@echo "  or as gina (admin) of Globex, which receives Acme's images; password: $${DEMO_PASSWORD:-demo-password}"
	@if [ "$(DEMO_SSO)" = 1 ]; then echo "  Or: Sign in with Example SSO as sso-alice, password demo-password (Acme admin)"; fi
	@echo "  Acme's webhooks go to http://127.0.0.1:8001/hook: to see them, verified, run in another"
	@echo "  terminal: make webhook-receiver"
	@echo
	@if [ "$(DEMO_SSO)" = 1 ]; then \
		(cd tests/oidc && exec node provider.mjs) & provider=$$!; trap "kill $$provider" EXIT INT TERM; \
		for _ in $$(seq 50); do $(BIN)/python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8010/.well-known/openid-configuration', timeout=1)" 2>/dev/null && break; sleep 0.2; done; \
		$(DEMO_ENV) $(SSO_ENV) $(BIN)/python manage.py runserver 127.0.0.1:8000; \
	else $(DEMO_ENV) $(BIN)/python manage.py runserver 127.0.0.1:8000; fi

# The OpenID Connect provider the sign-in tests (and DEMO_SSO=1 make demo) run: node-oidc-provider,
# installed from its lock file. Without node and npm the tests that need it skip, saying why.
OIDC_MODULES := tests/oidc/node_modules/.package-lock.json
$(OIDC_MODULES): tests/oidc/package.json tests/oidc/package-lock.json
	@if command -v npm >/dev/null 2>&1; then cd tests/oidc && npm ci --no-audit --no-fund --silent; \
	else echo "npm not found: the single sign-on tests will skip"; fi
.PHONY: oidc-provider
oidc-provider: $(OIDC_MODULES)

# The demo's webhook receiver: prints Acme's events as they come, each signature verified.
.PHONY: webhook-receiver
webhook-receiver: $(VENV)/.installed
	$(DEMO_ENV) $(BIN)/python manage.py webhook_receiver

test: $(VENV)/.installed-dev oidc-provider
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
