#!/usr/bin/env bash
# Builds the LLaVA lane: an environment with exactly the packages LLaVA's README install creates from
# its source at c121f04 (constraints/llava-c121f04.txt), LLaVA's code as the distribution `llava`
# with those pins as its requirements, then the plugin installed with the README's commands and NO
# constraints file of ours. It fails when an install moves a version LLaVA pins (peft excepted, see
# README) or leaves `pip check` unclean. `.venv-llava` in the repository points at the lane.
#
# The lane runs on Python 3.10, the Python of LLaVA's README (`conda create -n llava python=3.10`) and
# the floor of the plugin's requires-python; beside LLaVA's pins it installs the floors of the
# plugin's own open ranges (constraints/llava-lane-floors.txt: the libraries LLaVA leaves unpinned or
# lacks), so CI runs the low end of every range and the doctor counts those versions as tested.
# Python 3.10 is taken from $SOCIALFUSION_LLAVA_PYTHON, else `python3.10` on PATH, else pyenv's.
#
# torch 2.1.2 from the registry is the CUDA build (several GB; it runs on a CPU), so the base set is
# built once and cached under $SOCIALFUSION_LANE_CACHE (default ~/.cache/socialfusion-plugin/lanes),
# keyed by the pins; each run resets it to the recorded base versions before installing the plugin.
# Usage: bash scripts/setup-llava-lane.sh          # the plugin with [train], as a LLaVA user installs it
#        bash scripts/setup-llava-lane.sh test     # then the test tools too
#        bash scripts/setup-llava-lane.sh base     # only build the cached base (LLaVA's set; no plugin);
#                                                  # scripts/test.sh runs this while another lane tests
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
pins=constraints/llava-c121f04.txt
floors=constraints/llava-lane-floors.txt
base_python=
for candidate in ${SOCIALFUSION_LLAVA_PYTHON:-} python3.10 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10*/bin/python3.10; do
  # the first that runs as 3.10 (a pyenv shim on PATH may exist and refuse to run)
  if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
    base_python=$(command -v "$candidate"); break
  fi
done
if [ -z "$base_python" ]; then
  echo "llava-lane: needs Python 3.10 (LLaVA's README Python, the plugin's lowest): none found;" \
    "install it or set SOCIALFUSION_LLAVA_PYTHON to its python executable" >&2
  exit 1
fi
case "${1:-}" in
  "") extras="train" ;;
  test) extras="train,test" ;;
  base) extras= ;;
  *) echo "usage: bash scripts/setup-llava-lane.sh [test|base]" >&2; exit 2 ;;
esac
key=$( (cat "$pins" "$floors" scripts/lanes/llava_dist.py; "$base_python" --version) | sha256sum | cut -c1-12)
lane="${SOCIALFUSION_LANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/socialfusion-plugin/lanes}/llava-c121f04-$key"
py="$lane/bin/python"
pip_quiet() { "$py" -m pip --disable-pip-version-check --quiet "$@"; }
freeze() { "$py" -m pip --disable-pip-version-check freeze --exclude-editable | grep -v -i -E '^(llava|socialfusion-plugin)( @|==)' ; }

if [ ! -f "$lane/base-freeze.txt" ]; then
  # a half-built lane (no base-freeze.txt yet) is this script's own cache folder: start it again
  rm -rf "$lane"
  echo "llava-lane: building $lane (first time only: torch 2.1.2 is the registry's CUDA build, several GB)"
  started=$SECONDS
  "$base_python" -m venv "$lane"
  pip_quiet install -r "$pins" -r "$floors"
  wheel_dir=$(mktemp -d)
  trap 'rm -rf "$wheel_dir"' EXIT
  pip_quiet download --no-deps --dest "$wheel_dir" llava-torch==1.2.2.post1
  "$py" scripts/lanes/llava_dist.py "$pins" "$wheel_dir"/llava_torch-1.2.2.post1-*.whl "$lane/llava-src"
  pip_quiet install "$lane/llava-src[train]"
  "$py" -m pip --disable-pip-version-check check
  freeze > "$lane/base-freeze.txt"
  echo "llava-lane: base built in $((SECONDS - started)) s"
fi
[ -n "$extras" ] || { echo "llava-lane: base ready ($lane)"; exit 0; }

# back to LLaVA's base versions (a previous run installed the plugin, which lowers peft on purpose)
pip_quiet uninstall --yes socialfusion-plugin 2>/dev/null || true
pip_quiet install --no-deps -r "$lane/base-freeze.txt"
ln -sfn "$lane" .venv-llava

check_install() {  # $1: what was run; compares against $lane/before.txt
  freeze > "$lane/after.txt"
  echo "llava-lane: $1"
  "$py" scripts/lanes/pin_check.py "$pins" "$lane/before.txt" "$lane/after.txt" --allow peft
  "$py" scripts/lanes/pin_check.py "$floors" "$lane/before.txt" "$lane/after.txt" --pinned-by "the floors file"
  "$py" -m pip --disable-pip-version-check check
}
freeze > "$lane/before.txt"
# the README's two install commands, exactly as a LLaVA user runs them (no constraints file)
pip_quiet install "$repo[train]"
check_install "pip install \"$repo[train]\""
pip_quiet install -e "$repo[$extras]"
check_install "pip install -e \"$repo[$extras]\""
echo "llava-lane: ready (.venv-llava -> $lane)"
