# The front door. `make help` lists every target.
# PROFILE picks the experiment profile: full (the published settings) or quick (offline, minutes).
# BACKEND picks the Keras backend: tensorflow (default), jax or torch; it is installed on first
# use. JOBS=N trains N runs at once.

PYTHON_BOOT ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
BACKEND     ?= $(or $(KERAS_BACKEND),tensorflow)
export KERAS_BACKEND := $(BACKEND)
STAMP       := $(VENV)/.installed-$(BACKEND)
PROFILE     ?= full
RESULTS     ?= results
JOBS        ?= 1
CW          := $(PY) -m coursework --results $(RESULTS)
# GPU options for training: DETERMINISTIC=1|0 (default: on without a GPU, off with one),
# MIXED_PRECISION=1
RUN_FLAGS   := $(if $(filter 1,$(DETERMINISTIC)),--deterministic) \
               $(if $(filter 0,$(DETERMINISTIC)),--no-deterministic) \
               $(if $(filter 1,$(MIXED_PRECISION)),--mixed-precision) \
               $(if $(filter-out 1,$(JOBS)),--jobs $(JOBS))
QUESTIONS   := $(basename $(notdir $(wildcard experiments/*.toml)))

.DEFAULT_GOAL := help
.PHONY: help setup setup-tex quick all plots report verify bench test lint clean clean-results \
	$(QUESTIONS)

help: ## list the targets
	@echo "Usage: make TARGET [PROFILE=full|quick] [BACKEND=tensorflow|jax|torch] [JOBS=N]"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "  Research questions (PROFILE=$(PROFILE) by default):"
	@for q in $(QUESTIONS); do printf "  %-15s run experiments/%s.toml\n" $$q $$q; done

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(BACKEND),dev]'
	@touch $@

setup: $(STAMP) ## create .venv and install the project with BACKEND (every target does this)
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! command -v latexmk >/dev/null; \
	  then $(MAKE) setup-tex; fi

setup-tex: ## install TeX Live for the PDF report (Debian/Ubuntu, as root)
	apt-get update && apt-get install -y --no-install-recommends texlive-latex-recommended \
	  texlive-latex-extra texlive-fonts-recommended latexmk lmodern poppler-utils

quick: $(STAMP) ## every question, quick profile (offline, CPU, minutes), then plots and PDF
	$(CW) run $(QUESTIONS) --profile quick $(RUN_FLAGS)
	$(CW) plots --profile quick
	$(CW) report --profile quick

all: $(STAMP) ## every question, full profile (full MNIST; hours on a CPU), plots and PDF
	$(CW) run $(QUESTIONS) --profile full $(RUN_FLAGS)
	$(CW) plots --profile full
	$(CW) report --profile full

plots: $(STAMP) ## figures from results/$(PROFILE) (PDF and PNG)
	$(CW) plots --profile $(PROFILE)

report: $(STAMP) ## LaTeX report from results/$(PROFILE) -> results/$(PROFILE)/report/report.pdf
	$(CW) report --profile $(PROFILE)

verify: $(STAMP) ## check results/$(PROFILE) and re-train to compare [QUESTION= SAMPLE= RERUN=0]
	$(CW) verify --profile $(PROFILE) $(if $(QUESTION),--question $(QUESTION)) \
	  $(if $(SAMPLE),--sample $(SAMPLE)) $(if $(filter 0,$(RERUN)),--no-rerun)

bench: $(STAMP) ## training speed per installed backend vs plain fit -> results/bench.json
	$(CW) bench $(if $(BACKENDS),--backends $(BACKENDS))

$(QUESTIONS): $(STAMP)
	$(CW) run $@ --profile $(PROFILE) $(RUN_FLAGS)

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
