# The README's two commands. Both create .venv/ on first use (idempotent).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup demo test fullsize clean-venv

setup:
	@bash tools/setup_env.sh

demo: setup
	@$(PY) tools/demo.py

test: setup
	@$(PY) -m pytest -m "not fullsize" $(PYTEST_ARGS) tests

# The full-size config end to end on a CPU (a 5-frame training step and one
# test scene; ~27 min on 2 cores, under 20 GB): README, "Full-size runs".
# CI runs it after `make test`.
fullsize: setup
	@$(PY) -m pytest -m fullsize $(PYTEST_ARGS) tests

clean-venv:
	rm -rf $(VENV)
