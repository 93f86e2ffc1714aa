import subprocess
import sys
import types

from socialfusion_plugin.compat import torchvision_ops


def test_torchvision_imports_after_the_plugin_and_the_shim_matches_the_ops():
    probe = (
        "import socialfusion_plugin\n"
        "from socialfusion_plugin.compat import torchvision_ops as t\n"
        "import torchvision, open_clip, timm\n"
        "from torchvision import transforms\n"
        "print(t.shim_installed, t.compiled_ops_load())\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    shim_installed, ops_load = result.stdout.split()[-2:]
    # the shim is there exactly when torchvision's compiled ops do not load into this torch
    assert shim_installed == str(ops_load == "False")


def test_nothing_happens_when_torchvision_is_already_imported(monkeypatch):
    monkeypatch.setattr(torchvision_ops, "shim_installed", False)
    monkeypatch.setitem(sys.modules, "torchvision", types.ModuleType("torchvision"))
    assert torchvision_ops.ensure_torchvision_importable() is False


def test_nothing_happens_without_torchvision(monkeypatch):
    monkeypatch.setattr(torchvision_ops, "shim_installed", False)
    monkeypatch.delitem(sys.modules, "torchvision", raising=False)
    monkeypatch.setattr(torchvision_ops.importlib.util, "find_spec", lambda name: None)
    assert torchvision_ops.ensure_torchvision_importable() is False


def test_nothing_happens_when_the_compiled_ops_load(monkeypatch):
    monkeypatch.setattr(torchvision_ops, "shim_installed", False)
    monkeypatch.delitem(sys.modules, "torchvision", raising=False)
    monkeypatch.setattr(torchvision_ops, "_compiled_ops_path", lambda: "/some/_C.so")
    monkeypatch.setattr(torchvision_ops, "compiled_ops_load", lambda: True)
    assert torchvision_ops.ensure_torchvision_importable() is False
