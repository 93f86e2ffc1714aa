#!/usr/bin/env bash
# `pip check` of a project-lane environment, less the lines about llava-torch's own metadata: LLaVA's code
# is installed there without its dependencies on purpose (its metadata pins torch 2.0.1, transformers
# 4.36.2, ...), so those lines are expected; any other line is a broken environment and fails.
# Usage: bash scripts/lanes/pip_check_but_llava.sh PYTHON
set -uo pipefail
report=$("$1" -m pip --disable-pip-version-check check 2>&1)
broken=$(printf '%s\n' "$report" | grep -v -E '^(llava-torch 1\.2\.2\.post1 (has requirement|requires) |No broken requirements found)' | grep -v '^$')
if [ -n "$broken" ]; then
  printf 'pip check: %s\n' "$broken" >&2
  exit 1
fi
