#!/usr/bin/env bash
# Builds the LLaVA lane: an environment with exactly the packages LLaVA's README install creates from
# its source at c121f04 (constraints/llava-c121f04.txt), LLaVA's code as the distribution `llava`
# with those pins as its requirements, then the plugin installed with the README's commands and NO
# constraints file of ours. It fails when an install moves a version LLaVA pins (peft excepted, see
# README) or leaves `pip check` unclean. `.venv-llava` in the repository points at the lane.
#
# torch 2.1.2 from the registry is the CUDA build (several GB; it runs on a CPU), so the base set is
# built once and cached under $SOCIALFUSION_LANE_CACHE (default ~/.cache/socialfusion-plugin/lanes),
# keyed by the pins; each run resets it to the recorded base versions before installing the plugin.
# Usage: bash scripts/setup-llava-lane.sh          # the plugin with [train], as a LLaVA user installs it
#        bash scripts/setup-llava-lane.sh test     # then the test tools too
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
pins=constraints/llava-c121f04.txt
case "${1:-}" in
  "") extras="train" ;;
  test) extras="train,test" ;;
  *) echo "usage: bash scripts/setup-llava-lane.sh [test]" >&2; exit 2 ;;
esac
key=$(cat "$pins" scripts/lanes/llava_dist.py | sha256sum | cut -c1-12)
lane="${SOCIALFUSION_LANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/socialfusion-plugin/lanes}/llava-c121f04-$key"
py="$lane/bin/python"
pip_quiet() { "$py" -m pip --disable-pip-version-check --quiet "$@"; }
freeze() { "$py" -m pip --disable-pip-version-check freeze --exclude-editable | grep -v -i -E '^(llava|socialfusion-plugin)( @|==)' ; }

if [ ! -f "$lane/base-freeze.txt" ]; then
  # a half-built lane (no base-freeze.txt yet) is this script's own cache folder: start it again
  rm -rf "$lane"
  echo "llava-lane: building $lane (first time only: torch 2.1.2 is the registry's CUDA build, several GB)"
  started=$SECONDS
  python3 -m venv "$lane"
  pip_quiet install -r "$pins"
  wheel_dir=$(mktemp -d)
  trap 'rm -rf "$wheel_dir"' EXIT
  pip_quiet download --no-deps --dest "$wheel_dir" llava-torch==1.2.2.post1
  "$py" scripts/lanes/llava_dist.py "$pins" "$wheel_dir"/llava_torch-1.2.2.post1-*.whl "$lane/llava-src"
  pip_quiet install "$lane/llava-src[train]"
  "$py" -m pip --disable-pip-version-check check
  freeze > "$lane/base-freeze.txt"
  echo "llava-lane: base built in $((SECONDS - started)) s"
fi

# back to LLaVA's base versions (a previous run installed the plugin, which lowers peft on purpose)
pip_quiet uninstall --yes socialfusion-plugin 2>/dev/null || true
pip_quiet install --no-deps -r "$lane/base-freeze.txt"
ln -sfn "$lane" .venv-llava

check_install() {  # $1: what was run; compares against $lane/before.txt
  freeze > "$lane/after.txt"
  echo "llava-lane: $1"
  "$py" scripts/lanes/pin_check.py "$pins" "$lane/before.txt" "$lane/after.txt" --allow peft
  "$py" -m pip --disable-pip-version-check check
}
freeze > "$lane/before.txt"
# the README's two install commands, exactly as a LLaVA user runs them (no constraints file)
pip_quiet install "$repo[train]"
check_install "pip install \"$repo[train]\""
pip_quiet install -e "$repo[$extras]"
check_install "pip install -e \"$repo[$extras]\""
echo "llava-lane: ready (.venv-llava -> $lane)"
