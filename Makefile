# Two commands for a fresh Debian/Ubuntu machine: `make run` and `make test` (see README.md).

VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask
PYTHON ?= python3
HOST   := 127.0.0.1
# Another port when one is taken (5000 is on many Macs): make run PORT=8000 PROVIDER_PORT=8001
PORT          ?= 5000
PROVIDER_PORT ?= 5001
PORTAL_URL    := http://$(HOST):$(PORT)
PROVIDER_URL  := http://$(HOST):$(PROVIDER_PORT)

.PHONY: run test setup test-setup system-packages translations database lint clean messages

# The portal finds the provider, the provider knows the portal's redirect URIs, and the demo
# staff accounts are granted for that provider's issuer.
run database: export PORTAL_DEVIDP_ISSUER := $(PROVIDER_URL)
run database: export PORTAL_DEVIDP_PORTAL_URL := $(PORTAL_URL)

run: setup database
	@echo ""
	@echo "  Portal:          $(PORTAL_URL)"
	@echo "  ID provider:     $(PROVIDER_URL)   (demo personas and PINs: README.md)"
	@echo "  Stop both with Ctrl-C."
	@echo ""
	@trap 'kill $$provider 2>/dev/null' EXIT INT TERM; \
	$(FLASK) --app portal.devidp run --host $(HOST) --port $(PROVIDER_PORT) & provider=$$!; \
	$(FLASK) --app portal run --host $(HOST) --port $(PORT)

# With PORTAL_TEST_DATABASE_URL the PostgreSQL pass runs beside the SQLite one (each takes a
# core; on two cores the suite takes the time of one pass), its report printed after.
test: test-setup lint
	@if [ -n "$$PORTAL_TEST_DATABASE_URL" ]; then \
	  echo "== on PostgreSQL too ($$PORTAL_TEST_DATABASE_URL), beside SQLite: its report follows"; \
	  $(BIN)/python -m pytest -m "not browser" > .pytest-postgresql.log 2>&1 & postgresql=$$!; \
	fi; \
	env -u PORTAL_TEST_DATABASE_URL $(BIN)/python -m pytest; sqlite=$$?; \
	if [ -n "$$postgresql" ]; then \
	  wait $$postgresql; postgresql=$$?; \
	  echo "== on PostgreSQL: $$PORTAL_TEST_DATABASE_URL"; cat .pytest-postgresql.log; \
	fi; \
	exit $$(( sqlite || postgresql ))

setup: system-packages $(VENV)/.installed translations

test-setup: setup
	scripts/system-packages --test
	@$(MAKE) --no-print-directory $(VENV)/.installed-test

system-packages:
	scripts/system-packages

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(VENV)/bin/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

translations:
	$(BIN)/pybabel compile -d translations

database: setup
	$(FLASK) --app portal db upgrade
	$(FLASK) --app portal definitions load
	$(FLASK) --app portal municipalities load
	$(FLASK) --app portal.devidp init-keys
	$(FLASK) --app portal status-lists init-key
	$(FLASK) --app portal demo load
	$(FLASK) --app portal signing demo-keys
	$(FLASK) --app portal demo queues

lint: test-setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# For developers: gather the messages from code and templates into the catalogs.
messages: setup
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot \
	  --no-location --sort-output .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching \
	  --ignore-obsolete
	$(BIN)/python scripts/fill-english-catalog
