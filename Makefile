# The front door. `make help` lists every target and variable with its value.
# PROFILE picks the experiment profile: full (the published settings) or quick (minutes on a CPU).
# BACKEND picks the Keras backend: tensorflow (default), jax or torch; it is installed on first
# use and remembered (below). JOBS=N trains N runs at once.

PYTHON_BOOT ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
# The environment remembers the backend, and each backend's install, that the last command
# used (.venv/coursework.mk): after `make quick BACKEND=jax`, `make report` uses JAX too.
# EXTRA picks the install (a lock file in locks/): the backend's own, or a CUDA build: gpu
# (TensorFlow) or jax-cuda (`make setup EXTRA=jax-cuda` also sets BACKEND=jax).
-include $(VENV)/coursework.mk
EXTRA_BACKEND_gpu      := tensorflow
EXTRA_BACKEND_jax-cuda := jax
ifeq ($(origin BACKEND),undefined)
  BACKEND := $(or $(if $(EXTRA),$(or $(EXTRA_BACKEND_$(EXTRA)),$(EXTRA))),$(KERAS_BACKEND),$(SAVED_BACKEND),tensorflow)
endif
ifeq ($(origin EXTRA),undefined)
  EXTRA := $(or $(SAVED_EXTRA_$(BACKEND)),$(BACKEND))
endif
export KERAS_BACKEND := $(BACKEND)
LOCK        := locks/$(EXTRA).txt
STAMP       := $(VENV)/.installed-$(EXTRA)
# report, verify, submission and plots read the results a student has where PROFILE is not
# given: full where it has runs, else quick (the engine says which it used)
READ_PROFILE := $(if $(filter undefined,$(origin PROFILE)),auto,$(PROFILE))
PROFILE     ?= full
RESULTS     ?= results
# JOBS: runs at once; `make quick` trains 2 at once where there are 2 cores or more (its runs
# are small, so two share a CPU well), the other targets 1
JOBS        ?=
QUICK_JOBS  := $(or $(JOBS),$(shell n=$$(nproc 2>/dev/null || echo 1); [ "$$n" -ge 2 ] && echo 2 || echo 1))
CW          := $(PY) -m coursework --results $(RESULTS)
# GPU options for training: DETERMINISTIC=1|0 (default: on without a GPU, off with one),
# MIXED_PRECISION=1
TRAIN_FLAGS := $(if $(filter 1,$(DETERMINISTIC)),--deterministic) \
               $(if $(filter 0,$(DETERMINISTIC)),--no-deterministic) \
               $(if $(filter 1,$(MIXED_PRECISION)),--mixed-precision)
# FORCE=1: train complete runs again (a stale run, whose settings changed, is trained anyway)
FORCE_FLAG  := $(if $(filter 1,$(FORCE)),--force)
# PACK=1|0: the seeds of a run trained together as one program (JAX; default: on a GPU)
PACK_FLAG   := $(if $(filter 1,$(PACK)),--pack-seeds) $(if $(filter 0,$(PACK)),--no-pack-seeds)
RUN_FLAGS   := $(TRAIN_FLAGS) $(PACK_FLAG) $(FORCE_FLAG) $(if $(filter-out 1,$(JOBS)),--jobs $(JOBS))
QUICK_FLAGS := $(TRAIN_FLAGS) $(PACK_FLAG) $(FORCE_FLAG) $(if $(filter-out 1,$(QUICK_JOBS)),--jobs $(QUICK_JOBS))
LOCKED      := tensorflow jax torch gpu jax-cuda
ALL_QUESTIONS := $(basename $(notdir $(wildcard experiments/*.toml)))
# QUESTIONS="conv regularisation skip": the questions quick, all, plan and data run and the
# report holds; by default report.toml's `questions`, and where that is empty every question.
# report.toml is read (and checked: a mistake stops make) by the environment, when a target runs.
QUESTIONS   ?=
TOML_QUESTIONS = $(call checked,$(shell $(PY) -m coursework questions --chosen --settings report.toml || echo FAILED))
checked     = $(if $(filter FAILED,$(1)),$(error report.toml: see the error above),$(1))
CHOSEN      = $(or $(QUESTIONS),$(TOML_QUESTIONS),$(ALL_QUESTIONS))
# DATASET=folder:PATH (or npz:PATH, mnist-5k, ...) runs the questions on other data, into
# results/<profile>@<data>
DATASET     ?=
DATA_FLAGS  := $(if $(DATASET),--dataset "$(DATASET)")
REPORT_FLAGS := $(if $(QUESTIONS),--questions "$(QUESTIONS)")

.DEFAULT_GOAL := help
.PHONY: env help setup setup-tex tex lock slurm collect quick all data plan status tune notebook plots page report submission verify mark bench test test-fast lint clean \
	clean-results $(ALL_QUESTIONS)

help: ## list the targets and the variables
	@echo "Usage: make TARGET [VARIABLE=value ...]"
	@echo
	@awk -v p="$(PROFILE)" 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {gsub(/\$$\(PROFILE\)/, p, $$2); printf "  %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Research questions (make QUESTION runs experiments/QUESTION.toml in PROFILE=$(PROFILE)):"
	@echo "  $(ALL_QUESTIONS)"
	@echo "  chosen: $(if $(wildcard $(PY)),$(CHOSEN),$(or $(QUESTIONS),report.toml's (after make setup)))"
	@echo
	@echo "Variables, with their value now (set one on any command: make quick QUESTIONS=\"conv skip\"):"
	@printf '  %-30s %s\n' \
	  "PROFILE=$(PROFILE)" "full (the published settings, hours) or quick (minutes on a CPU)" \
	  "QUESTIONS=$(QUESTIONS)" "questions of quick, all, plan, data and report (default: report.toml's)" \
	  "QUESTION=$(QUESTION)" "the question of plan, status, tune, verify and slurm" \
	  "BACKEND=$(BACKEND)" "tensorflow, jax or torch; remembered by .venv for the next command" \
	  "EXTRA=$(EXTRA)" "the install: the backend, or gpu / jax-cuda (CUDA); remembered" \
	  "JOBS=$(JOBS)" "runs trained at once (default 1; make quick: $(QUICK_JOBS) here)" \
	  "DATASET=$(DATASET)" "other data: fashion-mnist, cifar10, npz:PATH, folder:PATH, ..." \
	  "DETERMINISTIC=$(DETERMINISTIC)" "1 or 0: byte-identical re-runs (default on without a GPU)" \
	  "MIXED_PRECISION=$(MIXED_PRECISION)" "1: compute in 16 bits on a GPU" \
	  "PACK=$(PACK)" "1 or 0: a run's seeds trained together as one program (JAX; default on a GPU)" \
	  "RESULTS=$(RESULTS)" "the results folder" \
	  "SAMPLE=$(SAMPLE)" "verify: runs to re-train (default all); mark: per zip (2), quoted or 90%" \
	  "RERUN=$(RERUN)" "verify: 0 checks integrity only" \
	  "SUBMISSION=$(SUBMISSION)" "mark: a zip or a folder of zips" \
	  "MARKING=$(MARKING)" "mark: the folder for sheets and the table" \
	  "PAGE_LIMIT=$(PAGE_LIMIT)" "mark: body pages allowed (default report.toml's)" \
	  "AGAIN=$(AGAIN)" "mark: 1 marks a marked zip again" \
	  "UNSAFE=$(UNSAFE)" "mark: 1 runs a submission's code without bwrap" \
	  "HANDED_IN_ENGINE=$(HANDED_IN_ENGINE)" "mark: 1 re-trains with the zip's own coursework/" \
	  "MARK_FLAGS=$(MARK_FLAGS)" "mark: limits, e.g. --memory-gb 8 --tasks 512 --disk-gb 2" \
	  "SLURM=$(SLURM)" "mark: 1 sends the re-runs to Slurm (PARTITION= TIME= ...); again: gathers" \
	  "PARTITION=$(PARTITION)" "slurm: the partition (default: the cluster's)" \
	  "GPUS=$(GPUS)" "slurm: GPUs per task (default 1 where the partition has GPUs, else 0)" \
	  "TIME=$(TIME)" "slurm: time per task (default 04:00:00)" \
	  "MEM=$(MEM)" "slurm: memory per task (default 16G, at most a node's)" \
	  "CPUS=$(CPUS)" "slurm: cores per task (default 4, at most a node's)" \
	  "SETUP=$(SETUP)" "slurm: shell lines each task runs first (module load cuda)" \
	  "TUNE=$(TUNE)" "slurm: 1 writes the tuning studies' script, a task per trial" \
	  "BACKENDS=$(BACKENDS)" "bench: the backends to measure (default every installed one)" \
	  "TESTS=$(TESTS)" "test: the test files or folders (default all)" \
	  "TEST_JOBS=$(TEST_JOBS)" "test, test-fast: pytest workers (default auto: one per core; 0: one process)" \
	  "FORCE=$(FORCE)" "1: train complete runs again (make conv FORCE=1); clean-results: delete results/" \
	  "PYTHON_BOOT=$(PYTHON_BOOT)" "the Python (3.11 or newer) that creates .venv"

$(STAMP): pyproject.toml $(wildcard $(LOCK))
	@test -f $(LOCK) || { echo "error: no lock file $(LOCK): EXTRA is one of $(LOCKED)"; exit 2; }
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	@# uv installs the lock in seconds where pip takes a minute or more; pip where there is no uv.
	@# --compile-bytecode, as pip does: else where Python may not write it (PYTHONDONTWRITEBYTECODE,
	@# the marker's read-only sandbox) every process compiles TensorFlow's and Keras' code again
	@$(PY) -m pip install --quiet uv >/dev/null 2>&1 || true
	$(PY) -m uv pip install --quiet --compile-bytecode --python $(PY) -r $(LOCK) 2>/dev/null \
	  || { echo "(uv could not install $(LOCK): pip does, in a minute or more)"; \
	       $(PY) -m pip install --quiet --upgrade pip && $(PY) -m pip install --quiet -r $(LOCK); }
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

# every target that trains, plots or reports depends on this: the environment, then remember
# the backend and its install for the next command (each make its own temporary file, renamed
# over the last: two commands started at once both go on)
env: $(STAMP)
	@{ echo "SAVED_BACKEND := $(BACKEND)"; grep -v -e '^SAVED_BACKEND ' -e '^SAVED_EXTRA_$(BACKEND) ' \
	  $(VENV)/coursework.mk 2>/dev/null; echo "SAVED_EXTRA_$(BACKEND) := $(EXTRA)"; } \
	  > $(VENV)/coursework.mk.$$$$ && mv -f $(VENV)/coursework.mk.$$$$ $(VENV)/coursework.mk

lock: ## refresh locks/*.txt: the newest versions pyproject.toml allows, for Python 3.11+
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet uv
	$(PY) -m uv pip compile pyproject.toml --extra tensorflow --extra dev --universal \
	  --python-version 3.11 --no-header --quiet -o locks/tensorflow.txt
	# the others share TensorFlow's versions where they can (one .venv may hold several)
	for extra in $(filter-out tensorflow,$(LOCKED)); do \
	  $(PY) -m uv pip compile pyproject.toml --extra $$extra --extra dev --universal \
	    --python-version 3.11 --no-header --quiet -c locks/tensorflow.txt \
	    -o locks/$$extra.txt || exit 1; done
	@echo "locks/ refreshed: run the tests (make test, make test BACKEND=jax) before committing"

setup: env ## create .venv and install the project with BACKEND (every target does this)
	@$(MAKE) --no-print-directory tex

setup-tex: ## install TeX Live for the PDF report (Debian/Ubuntu, as root)
	apt-get update && apt-get install -y --no-install-recommends texlive-latex-recommended \
	  texlive-latex-extra texlive-fonts-recommended latexmk lmodern poppler-utils

tex: # TeX Live for the PDF: installed if missing where we can (root with apt), else a note
	@command -v latexmk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing TeX Live for the PDF report (a few minutes, once) ..."; \
	    $(MAKE) --no-print-directory setup-tex >/dev/null || echo "note: TeX Live could not be installed"; \
	  fi; }

quick: env ## the chosen questions (QUESTIONS, else report.toml's, else all), quick profile, plots, PDF
	$(CW) run $(CHOSEN) --profile quick $(DATA_FLAGS) $(QUICK_FLAGS)
	@$(MAKE) --no-print-directory tex
	$(CW) report --profile quick $(DATA_FLAGS) $(REPORT_FLAGS)

all: env ## the chosen questions, full profile (full MNIST; hours on a CPU), plots and PDF
	$(CW) run $(CHOSEN) --profile full $(DATA_FLAGS) $(RUN_FLAGS)
	@$(MAKE) --no-print-directory tex
	$(CW) report --profile full $(DATA_FLAGS) $(REPORT_FLAGS)

data: env ## fetch and check the datasets of the chosen questions in PROFILE (where there is a network)
	$(CW) data $(CHOSEN) --profile $(PROFILE) $(DATA_FLAGS)

plan: env ## runs, images and estimated time of the chosen questions (or QUESTION=q); what is done
	$(CW) plan $(or $(QUESTION),$(CHOSEN)) --profile $(PROFILE) $(DATA_FLAGS) $(TRAIN_FLAGS) $(PACK_FLAG)

status: env ## per run and seed of the chosen questions (or QUESTION=q): complete, stale (what changed), missing, ...
	$(CW) status $(or $(QUESTION),$(CHOSEN)) --profile $(PROFILE) $(DATA_FLAGS)

tune: env ## only the Optuna studies of QUESTION's tuned runs, on the validation split [JOBS=N]
	@test -n "$(QUESTION)" || { echo "usage: make tune QUESTION=regularisation [PROFILE=quick] [JOBS=2]"; exit 2; }
	$(CW) run $(QUESTION) --tune --profile $(PROFILE) $(DATA_FLAGS) $(RUN_FLAGS)

notebook: env ## JupyterLab on notebooks/coursework.ipynb, the lab book (installs JupyterLab once)
	@$(PY) -c "import jupyterlab" 2>/dev/null || $(PY) -m pip install --quiet "jupyterlab>=4" "ipywidgets>=8" -c $(LOCK)
	$(PY) -m jupyter lab notebooks/coursework.ipynb $(if $(filter 0,$(shell id -u)),--allow-root)

plots: env ## figures out of date in results/$(PROFILE) (PDF and PNG; without PROFILE: the results you have)
	$(CW) plots --profile $(READ_PROFILE) $(DATA_FLAGS)

page: env ## every run on one page, results/$(PROFILE)/index.html: open it in a browser, offline (make report writes it too)
	$(CW) page --profile $(READ_PROFILE) $(DATA_FLAGS)

report: env tex ## the paper (report.toml; QUESTIONS="a b c") -> results/$(PROFILE)/report/ (without PROFILE: full if it has runs, else quick)
	$(CW) report --profile $(READ_PROFILE) $(DATA_FLAGS) $(REPORT_FLAGS)

submission: env ## PDF, its sources, code, the paper's results without weights, lab book -> submission/ and submission.zip
	$(CW) submission --profile $(READ_PROFILE) $(DATA_FLAGS)

verify: env ## check results/$(PROFILE) and re-train to compare [QUESTION= SAMPLE= RERUN=0]
	$(CW) verify --profile $(READ_PROFILE) $(DATA_FLAGS) $(if $(QUESTION),--question $(QUESTION)) \
	  $(if $(SAMPLE),--sample $(SAMPLE)) $(if $(filter 0,$(RERUN)),--no-rerun)

# a marker's side: SUBMISSION=a zip or a folder of zips; MARKING=folder for sheets and table
MARKING     ?= marking
mark: env tex ## check handed-in zips in a bwrap sandbox: SUBMISSION=zip|folder [SAMPLE=2|quoted|90% (0: no re-runs) PAGE_LIMIT= MARKING=marking AGAIN=1 UNSAFE=1 SLURM=1]
	@test -n "$(SUBMISSION)" || { echo "usage: make mark SUBMISSION=submission.zip (or a folder" \
	  "of zips) [SAMPLE=2] [PAGE_LIMIT=6] [MARKING=marking] [AGAIN=1] [UNSAFE=1]"; exit 2; }
	$(PY) -m coursework mark "$(SUBMISSION)" --marking "$(MARKING)" \
	  $(if $(SAMPLE),--sample $(SAMPLE)) $(if $(PAGE_LIMIT),--page-limit $(PAGE_LIMIT)) \
	  $(if $(filter 1,$(AGAIN)),--again) $(if $(filter 1,$(UNSAFE)),--unsafe) \
	  $(if $(filter 1,$(HANDED_IN_ENGINE)),--handed-in-engine) $(MARK_FLAGS) \
	  $(if $(filter 1,$(SLURM)),--slurm $(filter-out --tune,$(SLURM_FLAGS)))

bench: env ## training speed per installed backend vs plain fit -> results/bench.json
	$(CW) bench $(if $(BACKENDS),--backends $(BACKENDS))

$(ALL_QUESTIONS): env
	$(CW) run $@ --profile $(PROFILE) $(DATA_FLAGS) $(RUN_FLAGS)

SLURM_FLAGS = $(if $(PARTITION),--partition "$(PARTITION)") $(if $(GPUS),--gpus $(GPUS)) \
  $(if $(TIME),--time $(TIME)) $(if $(MEM),--mem $(MEM)) $(if $(CPUS),--cpus $(CPUS)) \
  $(if $(SETUP),--setup "$(SETUP)") $(if $(filter 1,$(TUNE)),--tune)
slurm: env ## sbatch array script, a task per run and seed [QUESTION= PARTITION= GPUS= TIME= MEM= CPUS= SETUP= TUNE=1: per trial]
	@test -n "$(QUESTION)" || { echo "usage: make slurm QUESTION=conv [PROFILE=full]" \
	  "[PARTITION=gpu GPUS=1 TIME=04:00:00 MEM=16G CPUS=4 SETUP='module load cuda']"; exit 2; }
	$(CW) slurm $(QUESTION) --profile $(PROFILE) $(strip $(DATA_FLAGS) $(SLURM_FLAGS) $(TRAIN_FLAGS))

collect: env ## after Slurm array tasks: summary, statistics, ensembles, manifest of PROFILE
	$(CW) collect --profile $(PROFILE) $(DATA_FLAGS)

# TEST_JOBS: pytest workers (pytest-xdist), a test file each at a time; 0: in one process
TEST_JOBS   ?= auto
TEST_FLAGS  := $(if $(filter 0,$(TEST_JOBS)),-p no:xdist,-n $(TEST_JOBS) --dist loadfile)
test: env ## run the whole test suite (as CI does) [TESTS="tests/engine ..." for some, TEST_JOBS=0]
	$(PY) -m pytest -q $(TEST_FLAGS) $(TESTS)

test-fast: env ## the quick loop while you work: the tests not marked slow, on recorded results (under a minute) [TEST_JOBS=0]
	$(PY) -m pytest -q $(TEST_FLAGS) -m "not slow"

lint: env ## ruff (lint and format), mypy (types; strict on records/ and analysis/)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

clean: ## remove caches and build files (never results/)
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -not -path './$(VENV)/*' -prune -exec rm -rf {} +

clean-results: ## delete results/ (asks for FORCE=1: it is your work)
	@if [ "$(FORCE)" != "1" ]; then \
	  echo "This deletes $(RESULTS)/, your experiment results. Run: make clean-results FORCE=1"; \
	  exit 1; fi
	rm -rf $(RESULTS)
