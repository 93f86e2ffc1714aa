#!/usr/bin/env bash
# Runs the test suite in each CI lane and fails if any lane fails:
#   project  the project's CPU pins (constraints/cpu.txt, torch 2.13), in .venv
#   llava    LLaVA's own pins (constraints/llava-c121f04.txt, torch 2.1.2), in .venv-llava; its setup
#            also checks that installing the plugin moves none of LLaVA's pins
# Usage: bash scripts/test.sh [project] [llava] [-- PYTEST ARGS]
set -uo pipefail
cd "$(dirname "$0")/.."
lanes=()
while [ $# -gt 0 ]; do
  case "$1" in
    project|llava) lanes+=("$1"); shift ;;
    --) shift; break ;;
    *) echo "usage: bash scripts/test.sh [project] [llava] [-- PYTEST ARGS]" >&2; exit 2 ;;
  esac
done
[ ${#lanes[@]} -gt 0 ] || lanes=(project llava)
summary=()
failed=0
for lane in "${lanes[@]}"; do
  started=$SECONDS
  echo "=== lane $lane: setup"
  if [ "$lane" = project ]; then
    bash scripts/setup-cpu.sh test && python=.venv/bin/python
  else
    bash scripts/setup-llava-lane.sh test && python=.venv-llava/bin/python
  fi
  status=$?
  if [ "$status" -eq 0 ]; then
    echo "=== lane $lane: $("$python" -c 'import sys, torch, transformers, accelerate; print(f"python {sys.version.split()[0]}, torch {torch.__version__}, transformers {transformers.__version__}, accelerate {accelerate.__version__}")')"
    "$python" -m pytest -q "$@"
    status=$?
    # pytest's 5 means it collected no tests: a failure here
  fi
  [ "$status" -eq 0 ] || failed=1
  summary+=("lane $lane: $([ "$status" -eq 0 ] && echo passed || echo "FAILED (exit $status)") in $((SECONDS - started)) s")
done
printf '%s\n' "${summary[@]}"
exit "$failed"
