# The front door. `make help` lists every target.
# PROFILE picks the experiment profile: full (the published settings) or quick (offline, minutes).

PYTHON_BOOT ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
PROFILE     ?= full
RESULTS     ?= results
CW          := $(PY) -m coursework --results $(RESULTS)
QUESTIONS   := $(basename $(notdir $(wildcard experiments/*.toml)))

.DEFAULT_GOAL := help
.PHONY: help setup quick all test lint clean clean-results $(QUESTIONS)

help: ## list the targets
	@echo "Usage: make TARGET [PROFILE=full|quick]"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "  Research questions (PROFILE=$(PROFILE) by default):"
	@for q in $(QUESTIONS); do printf "  %-15s run experiments/%s.toml\n" $$q $$q; done

$(STAMP): pyproject.toml
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

setup: $(STAMP) ## create .venv and install the project (every target does this first)

quick: $(STAMP) ## run every question, quick profile (offline, CPU, minutes)
	$(CW) run $(QUESTIONS) --profile quick

all: $(STAMP) ## run every question, full profile (full MNIST; hours on a CPU)
	$(CW) run $(QUESTIONS) --profile full

$(QUESTIONS): $(STAMP)
	$(CW) run $@ --profile $(PROFILE)

test: $(STAMP) ## run the test suite
	$(PY) -m pytest -q

lint: $(STAMP) ## ruff
	$(PY) -m ruff check coursework models tests

clean: ## remove caches and build files (never results/)
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -not -path './$(VENV)/*' -prune -exec rm -rf {} +

clean-results: ## delete results/ (asks for FORCE=1: it is your work)
	@if [ "$(FORCE)" != "1" ]; then \
	  echo "This deletes $(RESULTS)/, your experiment results. Run: make clean-results FORCE=1"; \
	  exit 1; fi
	rm -rf $(RESULTS)
