# Two commands for a fresh machine (see README):  make demo   and   make test
# Each makes its own virtual environment in .venv; nothing needs installing by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_STAMP := $(VENV)/.demo-stamp
DEV_STAMP  := $(VENV)/.dev-stamp

.PHONY: demo test lint bundle-check browser-deps fuzz

# The venv sits under this repo's package.json ("type": "module"); its own package.json
# keeps Node from reading JupyterLab's bundled CommonJS tools as ES modules.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	echo '{"type": "commonjs"}' > $(VENV)/package.json

## What the demo needs and nothing more: the package, JupyterLab, pandas.
$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

## Everything for the tests, lint and benchmarks.
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

## Run the main job: the embedded demo agent and JupyterLab on the demo notebooks.
demo: $(DEMO_STAMP)
	$(BIN)/convowidget demo $(ARGS)

## Debian's Chromium for the browser tests (a test tool's own browser download fails here).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

## Run every test: unit, server, kernel, widget, notebooks, and the browser tests.
test: $(DEV_STAMP) browser-deps
	$(BIN)/python -m pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check convowidget tests bench
	$(BIN)/ruff format --check convowidget tests bench
	$(BIN)/mypy

## The committed front-end bundle must be exactly what js/ builds; its JSDoc types must check.
bundle-check:
	npm ci --no-audit --no-fund --loglevel=error
	npm run --silent typecheck
	npm run --silent build
	npm test --silent
	git diff --exit-code -- convowidget/static || { echo "convowidget/static differs from what js/ builds: run 'npm run build' and commit"; exit 1; }

## The fuzz tests with 10,000 examples each instead of CI's 200 (the README quotes its figure),
## and the panel's markdown path (vitest) with 1,000 deep-nested replies instead of npm test's 15.
fuzz: $(DEV_STAMP)
	CONVOWIDGET_FUZZ_EXAMPLES=10000 $(BIN)/python -m pytest -q tests/test_reply_fuzz.py tests/test_fuzz.py \
	  tests/test_cassette_redaction.py::test_a_secret_cut_in_two_or_three_anywhere_in_any_form_never_reaches_the_cassette \
	  tests/test_markdown_export.py::test_no_arrangement_of_link_syntax_leaves_a_script_link_in_either_parser
	CONVOWIDGET_FUZZ_EXAMPLES=1000 npx vitest run --environment jsdom js/tests/fuzz.test.js
