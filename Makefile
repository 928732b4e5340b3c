# Two commands for a fresh machine (see README):  make demo   and   make test
# Each makes its own virtual environment in .venv; nothing needs installing by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint bundle-check browser-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Run the main job: the embedded demo agent and JupyterLab on the quickstart notebook.
demo: $(STAMP)
	$(BIN)/convowidget demo $(ARGS)

## Debian's Chromium for the browser tests (a test tool's own browser download fails here).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

## Run every test: unit, server, kernel, widget, notebooks, and the browser tests.
test: $(STAMP) browser-deps
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check convowidget tests bench
	$(BIN)/ruff format --check convowidget tests bench
	$(BIN)/mypy

## The committed front-end bundle must be exactly what js/ builds.
bundle-check:
	npm ci --no-audit --no-fund --loglevel=error
	npm run --silent build
	npm test --silent
	git diff --exit-code -- convowidget/static || { echo "convowidget/static differs from what js/ builds: run 'npm run build' and commit"; exit 1; }
