"""Import, accelerator and vision-tower checks in simulated broken environments."""
import sys
from types import SimpleNamespace

import pytest

from socialfusion_plugin.compat import torchvision_ops
from socialfusion_plugin.demo.tiny_assets import build_tiny_tower
from socialfusion_plugin.doctor import accelerator_check, import_checks
from socialfusion_plugin.doctor.findings import INFO, OK, PROBLEM
from socialfusion_plugin.doctor.tower_check import check_vision_tower
from socialfusion_plugin.host.llava.llava_host import LLAVA


def failing_import(broken, error):
    real = import_checks.import_module

    def import_module(name, *args, **kwargs):
        if name == broken:
            raise error
        return real(name, *args, **kwargs)

    return import_module


def test_a_module_that_fails_to_import_is_a_problem_naming_the_error(monkeypatch):
    error = ImportError("pyarrow 26.0.1 requires numpy>=2")
    monkeypatch.setattr(import_checks, "import_module", failing_import("pyarrow", error))
    finding = import_checks.check_module("pyarrow", "datasets stores its caches as Arrow")
    assert finding.level == PROBLEM
    assert finding.line().startswith("[PROBLEM] import pyarrow: ImportError: pyarrow 26.0.1 requires numpy>=2 "
                                     "(datasets stores its caches as Arrow)")


@pytest.fixture
def fake_llava(tmp_path, monkeypatch):
    """A LLaVA whose model package swallows the real import error, as llava/model/__init__.py does."""
    saved = {name: module for name, module in sys.modules.items() if name == "llava" or name.startswith("llava.")}
    for name in saved:
        monkeypatch.delitem(sys.modules, name)
    package = tmp_path / "llava"
    (package / "model" / "language_model").mkdir(parents=True)
    (package / "__init__.py").write_text("from .model import *\n")
    (package / "model" / "__init__.py").write_text(
        "try:\n    from .language_model.llava_llama import LlavaLlamaForCausalLM\nexcept:\n    pass\n")
    (package / "model" / "language_model" / "__init__.py").write_text("")
    (package / "model" / "language_model" / "llava_llama.py").write_text(
        "raise ImportError(\"cannot import name 'ALL_LAYERNORM_LAYERS' from 'transformers.pytorch_utils'\")\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in [name for name in sys.modules if name == "llava" or name.startswith("llava.")]:
        del sys.modules[name]  # the fake ones; monkeypatch then puts the real ones back


def test_llava_whose_import_error_is_swallowed_is_reported_with_the_real_error(fake_llava):
    finding = import_checks.check_llava(LLAVA)
    assert finding.level == PROBLEM
    assert finding.message == (
        "LLaVA is installed but its model code does not import: ImportError: cannot import name "
        "'ALL_LAYERNORM_LAYERS' from 'transformers.pytorch_utils'. This is usually a transformers version LLaVA "
        "does not support.")


def test_the_real_llava_imports():
    finding = import_checks.check_llava(LLAVA)
    assert (finding.level, finding.message.split(" (")[0]) == (OK, "LlavaLlamaForCausalLM available")


def test_deepspeed_not_installed_is_info_and_broken_is_a_problem(monkeypatch):
    missing = ModuleNotFoundError("No module named 'deepspeed'", name="deepspeed")
    monkeypatch.setattr(import_checks, "import_module", failing_import("deepspeed", missing))
    assert import_checks.check_deepspeed().level == INFO
    broken = RuntimeError("CUDA_HOME does not exist")
    monkeypatch.setattr(import_checks, "import_module", failing_import("deepspeed", broken))
    finding = import_checks.check_deepspeed()
    assert finding.level == PROBLEM and finding.message.startswith("RuntimeError: CUDA_HOME does not exist;")


def test_torchvision_that_does_not_import_is_a_problem(monkeypatch):
    error = RuntimeError("operator torchvision::nms does not exist")
    monkeypatch.setattr(import_checks, "import_module", failing_import("torchvision", error))
    finding = import_checks.check_torchvision()
    assert finding.level == PROBLEM
    assert finding.message.startswith("RuntimeError: operator torchvision::nms does not exist;")


def test_torchvision_through_the_shim_is_info_and_otherwise_nms_runs():
    finding = import_checks.check_torchvision()
    if torchvision_ops.shim_installed:  # project lane: CPU torch next to PyPI's CUDA torchvision
        assert finding.level == INFO and "op-schema shim" in finding.message
    else:  # LLaVA lane: torch 2.1.2 with its own torchvision 0.16.2
        assert (finding.level, finding.message) == (OK, "imports; compiled ops work (torchvision.ops.nms)")
    assert torchvision_ops.shim_installed == (not torchvision_ops.compiled_ops_load())


def test_cpu_machine_reports_gloo_and_why_deepspeed_cannot_run(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    host = SimpleNamespace(deepspeed_cpu_blocker=lambda: "accelerate 0.21.0 forces NCCL")
    findings = accelerator_check.check_accelerator(host, lambda name: "0.12.6")
    assert [f.line() for f in findings] == [
        "[ok]      accelerator: CPU only (torch sees no CUDA device); distributed backend gloo",
        "[warning] deepspeed on CPU: --deepspeed cannot run on this CPU-only machine: accelerate 0.21.0 forces "
        "NCCL; train here without --deepspeed",
    ]
    assert len(accelerator_check.check_accelerator(host, lambda name: None)) == 1  # no DeepSpeed, nothing to warn


def test_gpu_machine_reports_devices_and_nccl_without_deepspeed_warning(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: "NVIDIA H200")
    monkeypatch.setattr(torch.distributed, "is_nccl_available", lambda: True)
    host = SimpleNamespace(deepspeed_cpu_blocker=lambda: pytest.fail("asked on a GPU machine"))
    findings = accelerator_check.check_accelerator(host, lambda name: "0.12.6")
    assert [(f.level, f.message) for f in findings] == [
        (OK, "CUDA, 2 device(s): NVIDIA H200, NVIDIA H200; distributed backend nccl")]


def test_vision_tower_with_a_missing_weights_file_names_the_file(tmp_path):
    arch, _ = build_tiny_tower(tmp_path / "tower")
    missing = tmp_path / "absent" / "tower.safetensors"
    finding = check_vision_tower(f"open_clip:{arch}@{missing}")
    assert finding.level == PROBLEM
    assert finding.message == (f"vision tower weights {missing} not found. Put the open_clip checkpoint of "
                               "sf-tiny-vit there, or point --vision_tower at the file you downloaded.")


def test_vision_tower_with_a_pretrained_tag_not_cached_says_what_to_download(tmp_path, monkeypatch):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *args, **kwargs: None)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.cache/clip copy either
    finding = check_vision_tower("open_clip:ViT-L-14-336@openai")
    assert finding.level == PROBLEM
    assert "weights for open_clip:ViT-L-14-336@openai are not on this machine" in finding.message
    # OpenAI's weights need QuickGELU, which a file cannot say: the -quickgelu architecture builds it
    assert finding.message.endswith("--vision_tower open_clip:ViT-L-14-336-quickgelu@/path/to/the/downloaded/file")


def test_vision_tower_present_locally_is_ok_without_building_a_model(tmp_path, monkeypatch):
    import open_clip

    arch, weights = build_tiny_tower(tmp_path / "tower")
    monkeypatch.setattr(open_clip, "create_model", lambda *args, **kwargs: pytest.fail("the doctor built a model"))
    finding = check_vision_tower(f"open_clip:{arch}@{weights}")
    assert finding.level == OK
    assert finding.message.startswith(f"open_clip:{arch}@{weights}: weights present at {weights} (")


def test_vision_tower_errors_in_the_value_itself(tmp_path):
    assert check_vision_tower("open_clip:ViT-L-14-336").message.startswith("vision tower 'open_clip:ViT-L-14-336': "
                                                                          "expected open_clip:<ARCH>@<WEIGHTS>")
    absent_arch = tmp_path / "nope.json"
    assert check_vision_tower(f"open_clip:{absent_arch}@/w.pt").message == (
        f"architecture file {absent_arch} not found (from --vision_tower)")
    other = check_vision_tower("openai/clip-vit-large-patch14-336")
    assert other.level == INFO and "only those are checked" in other.message
