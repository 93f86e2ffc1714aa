#!/usr/bin/env bash
# Creates .venv (when missing) and installs the plugin into it for a CPU-only machine:
#   - every package pinned by constraints/cpu.txt (keeps the local CPU torch; without the pins pip
#     would pull a CUDA torch and gigabytes of CUDA packages);
#   - LLaVA from PyPI WITHOUT its dependencies (its metadata pins torch 2.0.1 and friends).
# Usage: bash scripts/setup-cpu.sh          # what `socialfusion demo` and training need
#        bash scripts/setup-cpu.sh test     # plus the test tools
set -euo pipefail
cd "$(dirname "$0")/.."
extras="train"
case "${1:-}" in
  "") ;;
  test) extras="train,test" ;;
  *) echo "usage: bash scripts/setup-cpu.sh [test]" >&2; exit 2 ;;
esac
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints/cpu.txt -e ".[${extras}]"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps llava-torch==1.2.2.post1
echo "setup-cpu: installed socialfusion-plugin[${extras}] and llava-torch into .venv"
