#!/usr/bin/env bash
# Runs the test suite in each CI lane and fails if any lane fails:
#   project  the project lane's complete lock (constraints/project-lock.txt, torch 2.13 CPU), in .venv
#   llava    LLaVA's own pins (constraints/llava-c121f04.txt, torch 2.1.2), in .venv-llava; its setup
#            also checks that installing the plugin moves none of LLaVA's pins
#   newest   the newest versions pyproject.toml's ranges allow today (only the CPU torch pinned), in
#            .venv-newest: the suite without its slow tests, then the whole `socialfusion demo` and a check
#            that its joint model learned every task the demo can teach (scripts/lanes/demo_learned.py)
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
# The LLaVA lane's base (LLaVA's own package set, torch 2.1.2's CUDA build: mostly downloading) is built
# while an earlier lane runs its tests, when it is not cached yet; its output is shown in the lane's turn.
base_pid=
if [ "${lanes[0]}" != llava ] && printf '%s\n' "${lanes[@]}" | grep -qx llava; then
  base_log=$(mktemp)
  bash scripts/setup-llava-lane.sh base > "$base_log" 2>&1 &
  base_pid=$!
fi
for lane in "${lanes[@]}"; do
  started=$SECONDS
  echo "=== lane $lane: setup"
  if [ "$lane" = llava ] && [ -n "$base_pid" ]; then
    wait "$base_pid"; base_status=$?
    grep -v '^WARNING: Location' "$base_log"; rm -f "$base_log"
    [ "$base_status" -eq 0 ] || echo "=== lane llava: building the base in the background failed (exit $base_status); building it now"
  fi
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
      # every task the demo can teach was learned: joint above chance outside the noise (no extra training)
      "$python" scripts/lanes/demo_learned.py "$workdir/demo/results.json" || { [ "$status" -ne 0 ] || status=1; }
      rm -rf "$workdir"
    fi
  fi
  [ "$status" -eq 0 ] || failed=1
  summary+=("lane $lane: $([ "$status" -eq 0 ] && echo passed || echo "FAILED (exit $status)") in $((SECONDS - started)) s")
done
printf '%s\n' "${summary[@]}"
exit "$failed"
