# m3rec: `make demo` sets everything up and runs the demo; `make test` checks the layering, lints
# and runs the whole test suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --disable-pip-version-check -c constraints.txt
DEFAULT_MODEL ?= qwen2.5-1.5b

.PHONY: install demo test test-fast lint models clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		(echo "m3rec needs Python 3.11 (set PYTHON=/path/to/python3.11)"; exit 1)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q --upgrade pip
	# torch first, pinned, so no resolver step ever reaches for a multi-GB CUDA build
	$(PIP) torch==2.13.0
	$(PIP) -e '.[dev]'
	touch $@

demo: install
	$(BIN)/m3rec models pull $(DEFAULT_MODEL)
	$(BIN)/m3rec demo

test: lint
	$(BIN)/m3rec models pull smollm2-135m
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow and not llm"

lint: install
	$(BIN)/ruff check src tests scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
