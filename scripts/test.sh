#!/usr/bin/env bash
# Runs the test suite in each CI lane and fails if any lane fails:
#   project  the project's CPU pins (constraints/cpu.txt, torch 2.13), in .venv
#   llava    LLaVA's own pins (constraints/llava-c121f04.txt, torch 2.1.2), in .venv-llava; its setup
#            also checks that installing the plugin moves none of LLaVA's pins
#   newest   the newest versions pyproject.toml's ranges allow today (only the CPU torch pinned), in
#            .venv-newest: the suite without its slow tests, then the whole `socialfusion demo`
# Usage: bash scripts/test.sh [project] [llava] [newest] [-- PYTEST ARGS]
set -uo pipefail
cd "$(dirname "$0")/.."
lanes=()
while [ $# -gt 0 ]; do
  case "$1" in
    project|llava|newest) lanes+=("$1"); shift ;;
    --) shift; break ;;
    *) echo "usage: bash scripts/test.sh [project] [llava] [newest] [-- PYTEST ARGS]" >&2; exit 2 ;;
  esac
done
[ ${#lanes[@]} -gt 0 ] || lanes=(project llava newest)
# DeepSpeed compiles a small op once into torch's extensions cache under a `lock` file; a run killed
# while compiling leaves the lock behind, and every later run waits on it forever. A compile takes
# under a minute, so a lock older than 10 minutes belongs to a dead run: remove it.
find "${TORCH_EXTENSIONS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/torch_extensions}" -name lock -type f -mmin +10 \
  -print -delete 2>/dev/null | sed 's/^/test.sh: removed a stale build lock: /' 
summary=()
failed=0
for lane in "${lanes[@]}"; do
  started=$SECONDS
  echo "=== lane $lane: setup"
  case "$lane" in
    project) bash scripts/setup-cpu.sh test && python=.venv/bin/python ;;
    llava) bash scripts/setup-llava-lane.sh test && python=.venv-llava/bin/python ;;
    newest) bash scripts/setup-newest-lane.sh test && python=.venv-newest/bin/python ;;
  esac
  status=$?
  if [ "$status" -eq 0 ]; then
    echo "=== lane $lane: $("$python" -c 'import sys, torch, transformers, accelerate; print(f"python {sys.version.split()[0]}, torch {torch.__version__}, transformers {transformers.__version__}, accelerate {accelerate.__version__}")' 2>/dev/null | tail -n 1)"
    if [ "$lane" = newest ] && [ $# -eq 0 ]; then
      # CI's time: the slow end-to-end tests run in the other two lanes; here the whole demo below
      # runs training, evaluation and the diagnostics end to end with the newest releases instead
      "$python" -m pytest -q -m "not slow"
    else
      "$python" -m pytest -q "$@"
    fi
    status=$?
    # pytest's 5 means it collected no tests: a failure here
    if [ "$lane" = newest ]; then
      # the whole demo as a user runs it (the suite runs a shorter one), whatever the suite said
      workdir=$(mktemp -d)
      echo "=== lane $lane: socialfusion demo --workdir $workdir/demo"
      "$(dirname "$python")/socialfusion" demo --workdir "$workdir/demo" || { demo=$?; [ "$status" -ne 0 ] || status=$demo; }
      rm -rf "$workdir"
    fi
  fi
  [ "$status" -eq 0 ] || failed=1
  summary+=("lane $lane: $([ "$status" -eq 0 ] && echo passed || echo "FAILED (exit $status)") in $((SECONDS - started)) s")
done
printf '%s\n' "${summary[@]}"
exit "$failed"
