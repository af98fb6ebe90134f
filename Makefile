# The README's two commands. Both create .venv/ on first use (idempotent).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup demo test clean-venv

setup:
	@bash tools/setup_env.sh

demo: setup
	@$(PY) tools/demo.py

test: setup
	@$(PY) -m pytest $(PYTEST_ARGS) tests

clean-venv:
	rm -rf $(VENV)
