# m3rec: `make demo` sets everything up and runs the demo; `make test` checks the layering, lints
# and runs the whole test suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --disable-pip-version-check -c constraints.txt
DEFAULT_MODEL ?= qwen2.5-1.5b
# llama-cpp-python compiles from source. A native build (-march=native) on a CPU with AMX (Intel
# Sapphire Rapids and later) segfaults on the first batched prompt, so x86-64 gets a portable AVX2
# build; set LLAMA_CMAKE_ARGS to choose your own (e.g. the CUDA flags in the README).
ifeq ($(shell uname -m),x86_64)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAVA_BUILD=OFF
else
LLAMA_CMAKE_ARGS ?= -DLLAVA_BUILD=OFF
endif

.PHONY: install demo test test-fast lint models clean bench-paper bench-all

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		(echo "m3rec needs Python 3.11 (set PYTHON=/path/to/python3.11)"; exit 1)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q --upgrade pip
	# torch first, pinned, so no resolver step ever reaches for a multi-GB CUDA build
	$(PIP) torch==2.13.0
	# --no-cache-dir: pip caches wheels by source, not by CMAKE_ARGS, so a cached build made with
	# other flags would be reused silently
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) --no-cache-dir --no-deps llama-cpp-python==0.3.36
	$(PIP) -e '.[dev]'
	touch $@

demo: install
	$(BIN)/m3rec models pull $(DEFAULT_MODEL)
	$(BIN)/m3rec demo --user 1

test: lint
	$(BIN)/m3rec models pull smollm2-135m
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow and not llm"

# m3rec's rows and ablations from the committed LLM outputs (Beauty, cold_k 2, one seed; about
# 20 minutes on 2 cores); FROM_SCRATCH=1 writes the profiles and LLM replies anew (hours).
bench-paper: install
	scripts/bench/paper.sh $(if $(FROM_SCRATCH),--from-scratch)

# every row of BENCHMARKS.md's harness tables, baselines and seeds included (about 9 hours of one core)
bench-all: install
	scripts/bench/all.sh

lint: install
	$(BIN)/ruff check src tests scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
