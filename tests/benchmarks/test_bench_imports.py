"""Every name a benchmark script imports from the package exists, also the imports inside functions
that run only in a benchmark's later stages: a moved or renamed module must not leave a benchmark
that fails after minutes of work."""
import ast
import importlib
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[2] / "benchmarks").glob("*.py"))


def package_imports(script: Path):
    for node in ast.walk(ast.parse(script.read_text(), str(script))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("socialfusion_plugin"):
            for alias in node.names:
                yield node.lineno, node.module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("socialfusion_plugin"):
                    yield node.lineno, alias.name, None


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda path: path.name)
def test_every_package_name_a_benchmark_imports_exists(script):
    missing = []
    for line, module_name, name in package_imports(script):
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            missing.append(f"{script.name}:{line}: {module_name} ({err})")
            continue
        if name is not None and not hasattr(module, name):
            try:
                importlib.import_module(f"{module_name}.{name}")  # a submodule
            except ImportError:
                missing.append(f"{script.name}:{line}: {module_name}.{name}")
    assert not missing, "\n".join(missing)


def test_the_benchmarks_are_found():
    assert {"bench_eval.py", "bench_packing.py", "bench_data_task_cache.py"} <= {path.name for path in BENCHMARKS}
