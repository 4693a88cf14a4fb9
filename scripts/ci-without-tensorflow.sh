#!/usr/bin/env bash
# CI without TensorFlow, as on the GPU machines and the clusters that have JAX only: a fresh
# environment from locks/jax.txt alone, in which `import tensorflow` fails, trains a quick
# question on JAX, builds its report and verifies it, through the Makefile as a student would.
#
#   scripts/ci-without-tensorflow.sh                    # train, report, verify (a few minutes)
#   scripts/ci-without-tensorflow.sh --with-jax-tests   # then the JAX test pass there too
#
# The Makefile's environment is always ./.venv, so this works in a copy of the working tree
# (the files git tracks or would track) in a temporary folder, whose .venv is new; ../shared
# is linked beside it. Variables: QUESTION (default depth: an MLP question, the cheapest on
# JAX), SAMPLE (verify's re-runs, default 1), JOBS (runs at once), INSTALL=uv (default: uv,
# 1.5-2x faster than pip) or make (the Makefile's own install rule, pip), PYTHON_BOOT (the
# Python that makes the venv, default python3), KEEP=1 or 0 (keep the copy always or never;
# by default where the script fails), JAX_TESTS (the tests of --with-jax-tests, default the
# JAX pass of .ci/run).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
QUESTION="${QUESTION:-depth}"
SAMPLE="${SAMPLE:-1}"
INSTALL="${INSTALL:-uv}"
PYTHON_BOOT="${PYTHON_BOOT:-python3}"
# on JAX: the epoch programs, packed seeds, a run's files and the backends (the rest of the
# engine's tests check what no backend changes; verify: the make verify above)
# (not long: every command without TensorFlow, ~2-6 minutes, repeats what this script runs
# through the Makefile above, and runs with make test TESTS="-m long" BACKEND=jax)
JAX_TESTS="${JAX_TESTS:--m 'not long' tests/engine/test_programs.py tests/engine/test_pack.py tests/engine/test_probe.py tests/engine/test_train.py tests/runtime}"
WITH_TESTS=0
case "${1:-}" in
  --with-jax-tests) WITH_TESTS=1 ;;
  "") ;;
  *) echo "usage: $0 [--with-jax-tests]" >&2; exit 2 ;;
esac
unset PYTHONPATH VIRTUAL_ENV KERAS_BACKEND  # nothing from the calling environment leaks in

die() {
  TIMES+=("$(printf '%-26s %4d s' "all, until it failed" $((SECONDS - START)))")
  echo "ci-without-tensorflow: $*" >&2
  exit 1
}
START=$SECONDS
TIMES=()
# step NAME COMMAND...: run it, record its wall time; a failure stops the script
step() {
  local name="$1" t0=$SECONDS
  shift
  echo "== $name: $*"
  "$@" || die "$name failed (exit $?)"
  TIMES+=("$(printf '%-26s %4d s' "$name" $((SECONDS - t0)))")
}
# the environment imports JAX and Keras, and has no TensorFlow to import (exit 3 if it has)
NO_TF='import importlib.util, sys, jax, keras
sys.exit(3 if importlib.util.find_spec("tensorflow") else 0)'
no_tensorflow() {  # $1: when
  local rc=0
  KERAS_BACKEND=jax .venv/bin/python -c "$NO_TF" || rc=$?
  [ "$rc" != 3 ] || die "TensorFlow is installed in the environment ($1): it must not be there"
  [ "$rc" = 0 ] || die "the environment does not import JAX and Keras ($1)"
  echo "   JAX and Keras import, TensorFlow is not installed ($1), as it should be"
}

LOCK="$ROOT/locks/jax.txt"
[ -f "$LOCK" ] || die "no $LOCK"
if grep -inE '^(tensorflow|tf[-_]|tensorboard|keras-nightly)' "$LOCK"; then
  die "locks/jax.txt pins TensorFlow (the lines above): the JAX install must not"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/ci-without-tensorflow.XXXXXX")"
COPY="$WORK/project"
# the copy goes when the script passes (or always, KEEP=0; never, KEEP=1)
cleanup() {
  local rc=$?
  if [ "${#TIMES[@]}" -gt 0 ]; then printf '   %s\n' "${TIMES[@]}"; fi
  if [ "${KEEP:-}" = 1 ] || { [ "$rc" != 0 ] && [ "${KEEP:-}" != 0 ]; }; then
    echo "the copy stays in $COPY"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
mkdir "$COPY"
# tracked and untracked-but-not-ignored files (a tracked file deleted here is left out)
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
  | tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$COPY" \
  || die "could not copy the working tree to $COPY"
if [ -d "$ROOT/../shared" ]; then ln -s "$(cd "$ROOT/../shared" && pwd)" "$WORK/shared"; fi
cd "$COPY"
rm -rf .venv results

# the Makefile's $(STAMP) rule, with uv in place of pip (and bytecode compiled once, not by
# every process where PYTHONDONTWRITEBYTECODE is set); && throughout: step runs it where
# set -e does not apply
install_uv() {
  local uv="$WORK/.uv/bin/uv"
  "$PYTHON_BOOT" -m venv .venv && "$PYTHON_BOOT" -m venv "$WORK/.uv" \
    && "$WORK/.uv/bin/python" -m pip install --quiet uv \
    && "$uv" pip install --quiet --compile-bytecode --python .venv/bin/python -r locks/jax.txt \
    && "$uv" pip install --quiet --no-deps --python .venv/bin/python -e . \
    && touch .venv/.installed-jax  # what make checks: its install is up to date
}
case "$INSTALL" in
  uv) step "install (uv)" install_uv ;;
  make) step "install (make env)" make --no-print-directory env BACKEND=jax \
    PYTHON_BOOT="$PYTHON_BOOT" ;;
  *) die "INSTALL is uv or make, not $INSTALL" ;;
esac
no_tensorflow "installed"

M=(make --no-print-directory BACKEND=jax PROFILE=quick)
step "make $QUESTION" "${M[@]}" "$QUESTION" ${JOBS:+JOBS="$JOBS"}
step "make report" "${M[@]}" report QUESTIONS="$QUESTION"
pdfs=(results/quick/report/*.pdf)
[ -s "${pdfs[0]}" ] || die "make report made no PDF in results/quick/report/"
echo "   the report: ${pdfs[*]}"
step "make verify" "${M[@]}" verify SAMPLE="$SAMPLE"
[ -s results/quick/verification.csv ] || die "make verify wrote no results/quick/verification.csv"
checks=$(($(wc -l <results/quick/verification.csv) - 1))
echo "   the verdict: results/quick/verification.csv, $checks checks"
if [ "$WITH_TESTS" = 1 ]; then
  step "make test (JAX pass)" make --no-print-directory test BACKEND=jax TESTS="$JAX_TESTS"
fi
no_tensorflow "after every step"

TIMES+=("$(printf '%-26s %4d s' "all" $((SECONDS - START)))")
echo "== ci-without-tensorflow: passed"
