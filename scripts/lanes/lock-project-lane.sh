#!/usr/bin/env bash
# Writes constraints/project-lock.txt, the project lane's complete lock: resolves the lane's inputs in a
# new, empty virtual environment and freezes what pip installed there, every distribution at its exact
# version (the plugin itself aside). scripts/setup-cpu.sh installs with this file as its only
# constraints, so CI of one commit builds the same project lane whatever the registry serves later.
#
# The inputs (change one of them, then run this script and commit both):
#   constraints/cpu.txt            the hand-kept pins: the machine's CPU torch, and the host stack's
#                                  versions that work together on a CPU-only machine
#   constraints/llava-runtime.txt  LLaVA's own runtime requirements the lane adds (LLaVA's code is
#                                  installed without its dependencies)
#   pyproject.toml                 the plugin's ranges and its [train] and [test] extras
# tests/lanes/test_project_lock.py fails when these inputs change and the lock was not regenerated
# (the lock's header records their digest), and when the lane holds a distribution the lock does not pin.
#
# Runs on the project lane's Python (python3, 3.11). Usage: bash scripts/lanes/lock-project-lane.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
llava_code="llava-torch==1.2.2.post1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
py="$work/venv/bin/python"
pip_quiet() { "$py" -m pip --disable-pip-version-check --quiet "$@"; }
# the build tools first: setup-cpu.sh builds the plugin without build isolation, with these
pip_quiet install -c constraints/cpu.txt --upgrade setuptools wheel
pip_quiet install --no-build-isolation -c constraints/cpu.txt -e ".[train,test]" -r constraints/llava-runtime.txt
pip_quiet install --no-deps "$llava_code"
bash scripts/lanes/pip_check_but_llava.sh "$py"
digest=$("$py" scripts/lanes/lock_inputs.py)
{
  echo "# The project lane's complete lock: every distribution \`bash scripts/setup-cpu.sh test\` installs, at"
  echo "# the exact version it installs (the plugin itself aside), resolved $(date -u +%Y-%m-%d) on Python"
  echo "# $("$py" -c 'import sys; print(sys.version.split()[0])'). GENERATED: do not edit. Regenerate it with"
  echo "#   bash scripts/lanes/lock-project-lane.sh"
  echo "# after changing its inputs (constraints/cpu.txt, constraints/llava-runtime.txt, pyproject.toml)."
  echo "# inputs-sha256: $digest"
  echo "# build tools (the plugin is built with these, without build isolation)"
  "$py" -m pip --disable-pip-version-check freeze --all | grep -i -E '^(setuptools|wheel)=='
  echo "# the lane"
  "$py" -m pip --disable-pip-version-check freeze --exclude-editable
} > constraints/project-lock.txt
echo "lock-project-lane: wrote constraints/project-lock.txt ($(grep -c '==' constraints/project-lock.txt) pins)"
