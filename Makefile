# The two commands of the README, plus benchmarks and lint.
# Every target creates the virtual environment and installs what it needs, so
# each works on a fresh machine with nothing but Python 3.11+.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEV    := $(VENV)/.installed-dev

FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test test-browser bench lint i18n clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# System packages the PDF support files need: Pango (WeasyPrint's layout), the
# HarfBuzz subset library (without it WeasyPrint subsets CJK fonts through
# fontTools, ~10x slower) and Noto CJK so Korean renders as Hangul, not boxes.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk
.PHONY: system-packages
system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	echo "Installing system packages for PDF support files:$$missing"; \
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
		|| { echo "ERROR: could not install$$missing with apt-get; install them and run again." >&2; exit 1; }; \
	elif command -v apt-get >/dev/null 2>&1; then \
		echo "ERROR: missing$$missing. Run: sudo apt-get install$$missing" >&2; exit 1; \
	else \
		echo "ERROR: missing$$missing (Debian package names); install Pango, the HarfBuzz subset library and Noto CJK fonts with your system's package manager." >&2; exit 1; \
	fi

# Chromium for the browser journeys (tests/browser): Debian's build, launched by its
# path (HAECHI_CHROMIUM overrides it); Playwright's own browser download is never used.
CHROMIUM ?= $(or $(HAECHI_CHROMIUM),/usr/bin/chromium)
.PHONY: browser-packages
browser-packages:
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	echo "Installing Chromium for the browser tests"; \
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| { echo "ERROR: could not install chromium with apt-get; install it and run again." >&2; exit 1; }; \
	elif command -v apt-get >/dev/null 2>&1; then \
		echo "ERROR: Chromium is missing. Run: sudo apt-get install chromium" >&2; exit 1; \
	else \
		echo "ERROR: Chromium is missing; install it with your system's package manager and set HAECHI_CHROMIUM to its path." >&2; exit 1; \
	fi

# Set up (venv, install, migrate the embedded SQLite database in instance/),
# create demo staff on the first run, load the bridge's sample records
# (idempotent), and serve on http://127.0.0.1:5000.
run: $(DEV) system-packages
	$(FLASK) db upgrade
	$(FLASK) demo seed
	$(FLASK) bridge demo
	$(FLASK) run --host $(HOST) --port $(PORT)

# Lint, types, the whole suite on SQLite (with the browser journeys when Chromium is
# there or can be installed; otherwise pytest reports them as skipped, with the reason),
# then the database tests again on PostgreSQL when one answers (TEST_DATABASE_URL, or
# 127.0.0.1:5432/test).
test: $(DEV) system-packages
	@$(MAKE) --no-print-directory browser-packages \
		|| echo "Chromium is not available: the browser tests will be reported as skipped."
	$(BIN)/ruff check crypto app monitoring_bridge tests bench load migrations config.py wsgi.py
	$(BIN)/ruff format --check crypto app monitoring_bridge tests bench load migrations config.py wsgi.py
	$(BIN)/mypy
	$(BIN)/python -m pytest
	@if $(BIN)/python -c "import sys; from tests.conftest import postgres_available as up; sys.exit(0 if up() else 1)"; then \
		echo "PostgreSQL answers: running the database tests on it"; \
		HAECHI_TEST_DB=postgresql $(BIN)/python -m pytest -m db; \
	else \
		echo "PostgreSQL does not answer at 127.0.0.1:5432 (or TEST_DATABASE_URL): skipped the PostgreSQL run"; \
	fi

# The browser journeys alone, in headless Chromium, each page checked with axe-core;
# screenshots of every step of a failed journey go to build/browser/.
test-browser: $(DEV) system-packages browser-packages
	$(BIN)/python -m pytest tests/browser -m browser

bench: $(DEV) system-packages
	$(BIN)/python -m bench

# The load test (load/__main__.py): gunicorn with LOAD_WORKERS workers on a scratch PostgreSQL
# database (127.0.0.1:5432, dropped afterwards) and Redis (127.0.0.1:6379) for the rate limits,
# concurrent reporters, inbox pollers, staff and a bridge feed for LOAD_SECONDS, then every
# accepted submission reopened with its receipt and the audit chain verified. Writes build/load.json.
LOAD_SECONDS ?= 60
LOAD_WORKERS ?= 4
.PHONY: load
load: $(DEV)
	$(BIN)/python -m load --seconds $(LOAD_SECONDS) --workers $(LOAD_WORKERS)

lint: $(DEV)
	$(BIN)/ruff check crypto app monitoring_bridge tests bench load migrations config.py wsgi.py
	$(BIN)/ruff format --check crypto app monitoring_bridge tests bench load migrations config.py wsgi.py
	$(BIN)/mypy

i18n: $(DEV)
	mkdir -p build
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l --no-location --sort-output -o build/messages.pot .
	$(BIN)/pybabel update -i build/messages.pot -d translations --no-fuzzy-matching --no-wrap --ignore-obsolete

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .hypothesis
