#!/usr/bin/env bash
# Creates .venv-newest (when missing) and installs the plugin with the NEWEST versions its declared
# ranges allow today: no constraints file of ours except the CPU torch this machine needs
# (constraints/torch-cpu.txt), and `--upgrade-strategy eager` so a rerun picks up new releases.
# LLaVA's code comes from PyPI without its dependencies (its metadata pins torch 2.0.1 and friends).
# Usage: bash scripts/setup-newest-lane.sh          # what `socialfusion demo` and training need
#        bash scripts/setup-newest-lane.sh test     # plus the test tools
set -euo pipefail
cd "$(dirname "$0")/.."
extras="train"
case "${1:-}" in
  "") ;;
  test) extras="train,test" ;;
  *) echo "usage: bash scripts/setup-newest-lane.sh [test]" >&2; exit 2 ;;
esac
if [ ! -x .venv-newest/bin/python ]; then
  python3 -m venv .venv-newest
fi
pip_quiet() { .venv-newest/bin/python -m pip --disable-pip-version-check --quiet "$@"; }
pip_quiet install -c constraints/torch-cpu.txt --upgrade --upgrade-strategy eager -e ".[${extras}]"
pip_quiet install --no-deps llava-torch==1.2.2.post1
echo "setup-newest-lane: resolved $(.venv-newest/bin/python -m pip --disable-pip-version-check freeze \
  | grep -i -E '^(torch|transformers|tokenizers|accelerate|peft|deepspeed|open.clip.torch|timm|numpy|datasets|pyarrow|scikit.learn)==' \
  | tr '\n' ' ')"
