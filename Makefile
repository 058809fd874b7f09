# The two commands of the README, plus benchmarks and lint.
# Every target creates the virtual environment and installs what it needs, so
# each works on a fresh machine with nothing but Python 3.11+.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEV    := $(VENV)/.installed-dev

.PHONY: run test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(DEV)
	@echo "The web application arrives with the Flask foundation (issue 3); 'make test' and 'make bench' work now."

test: $(DEV)
	$(BIN)/ruff check crypto app tests bench config.py wsgi.py
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: $(DEV)
	$(BIN)/python -m bench

lint: $(DEV)
	$(BIN)/ruff check crypto tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .hypothesis
