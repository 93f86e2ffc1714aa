"""The digest of the project lane lock's inputs, recorded in constraints/project-lock.txt's header.

The inputs are constraints/cpu.txt and constraints/llava-runtime.txt (their requirement lines, comments
dropped) and pyproject.toml's requires-python, dependencies and optional dependencies. A change to any
of them changes the digest, and tests/lanes/test_project_lock.py then asks for a new lock
(scripts/lanes/lock-project-lane.sh). Prints the digest; importable for the test.
"""
import hashlib
import json
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # the LLaVA lane's Python 3.10: the test extra installs tomli
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
INPUT_FILES = ("cpu.txt", "llava-runtime.txt")


def requirement_lines(path: Path) -> list:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def lock_inputs_digest(repo: Path = REPO) -> str:
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    inputs = {
        "constraints": {name: requirement_lines(repo / "constraints" / name) for name in INPUT_FILES},
        "requires-python": project["requires-python"],
        "dependencies": project["dependencies"],
        "optional-dependencies": project["optional-dependencies"],
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


if __name__ == "__main__":
    print(lock_inputs_digest())
