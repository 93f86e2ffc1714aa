"""The dtype rule of loading through LLaVA's loader (which forces float16 itself): weights are LOADED
in the asked dtype (float32 by default on the CPU), the connector and the vision tower follow, and
values equal the files' exactly (a float16 round trip would not); plus `socialfusion merge --dtype`
and `socialfusion eval --dtype float32` end to end. Runs in the project lane and in LLaVA's own pins
(torch 2.1.2 cannot compute in float16 on the CPU there)."""
import json
from types import SimpleNamespace

import pytest
import torch
from safetensors import safe_open
from tiny_llava_checkpoints import write_lora_and_projector_checkpoints

from socialfusion_plugin.cli.main import main
from socialfusion_plugin.host.llava.loading.checkpoints import load_checkpoint, merge_lora, resolve_dtype


@pytest.fixture(scope="module")
def checkpoints(tiny_assets, tmp_path_factory):
    root = tmp_path_factory.mktemp("dtype-checkpoints")
    adapters, stage1 = write_lora_and_projector_checkpoints(tiny_assets, root)
    merged = merge_lora(adapters, str(tiny_assets.llm_dir), root / "merged-social")
    return SimpleNamespace(lora=adapters, projector=stage1, full=merged, base=str(tiny_assets.llm_dir))


def part_dtypes(model):
    inner = model.get_model()
    tower = {p.dtype for p in model.get_vision_tower().parameters()}
    connector = {p.dtype for p in inner.mm_projector.parameters()}
    language_model = {p.dtype for name, p in model.named_parameters()
                      if "mm_projector" not in name and "vision_tower" not in name}
    return {"language model": language_model, "connector": connector, "tower": tower}


def saved_connector(folder):
    name = "non_lora_trainables.bin" if (folder / "non_lora_trainables.bin").is_file() else "mm_projector.bin"
    state = torch.load(folder / name, map_location="cpu", weights_only=True)
    return {key.split("mm_projector.")[1]: value for key, value in state.items()}


@pytest.mark.parametrize("kind", ["lora", "projector", "full"])
@pytest.mark.parametrize("dtype, expected", [(None, torch.float32), ("float32", torch.float32),
                                             ("bfloat16", torch.bfloat16)], ids=["default", "float32", "bfloat16"])
def test_weights_are_loaded_in_the_asked_dtype(checkpoints, kind, dtype, expected):
    from llava.model import builder

    folder = getattr(checkpoints, kind)
    loaded = load_checkpoint(folder, None if kind == "full" else checkpoints.base, dtype=dtype)
    assert loaded.kind == kind and loaded.image_processor is not None
    assert part_dtypes(loaded.model) == {"language model": {expected}, "connector": {expected}, "tower": {expected}}
    # loaded in the dtype, not round-tripped through LLaVA's float16: values equal the files' exactly
    projector = loaded.model.get_model().mm_projector.state_dict()
    if kind == "full":
        with safe_open(str(folder / "model.safetensors"), "pt") as handle:
            projector_file = {key.split("mm_projector.")[1]: handle.get_tensor(key) for key in handle.keys()
                              if "mm_projector" in key}
    else:
        projector_file = saved_connector(folder)
    assert projector_file.keys() == projector.keys()
    for key, value in projector_file.items():
        assert torch.equal(projector[key], value.to(expected)), key
    assert builder.torch is torch  # LLaVA's builder sees the real torch again after loading


def test_default_dtype_is_float32_on_cpu_and_llava_float16_on_cuda(monkeypatch):
    assert resolve_dtype("cpu", None) is torch.float32
    assert resolve_dtype("cpu", "bfloat16") is torch.bfloat16
    assert resolve_dtype("cuda", torch.float32) is torch.float32
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_dtype("cuda", None) is None and resolve_dtype("cuda:1", None) is None  # LLaVA's float16
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_dtype("cuda", None) is torch.float32  # LLaVA's default device lands on the CPU here
    with pytest.raises(ValueError, match="float64x"):
        resolve_dtype("cpu", "float64x")


def test_a_plain_language_model_loads_as_one(tiny_assets):
    loaded = load_checkpoint(tiny_assets.llm_dir)
    assert loaded.kind == "language-model" and loaded.image_processor is None
    assert {p.dtype for p in loaded.model.parameters()} == {torch.float32}


@pytest.mark.parametrize("dtype, expected", [(None, "F32"), ("bfloat16", "BF16")], ids=["default", "bfloat16"])
def test_merge_writes_float32_on_cpu_unless_told(checkpoints, tmp_path, dtype, expected):
    out = tmp_path / "merged"
    argv = ["merge", "--model-path", str(checkpoints.lora), "--model-base", checkpoints.base, "--out", str(out)]
    assert main(argv + (["--dtype", dtype] if dtype else [])) == 0
    header = json.loads(_safetensors_header(out / "model.safetensors"))
    assert {entry["dtype"] for key, entry in header.items() if key != "__metadata__"} == {expected}
    config_dtype = json.loads((out / "config.json").read_text())["torch_dtype"]
    assert config_dtype == {"F32": "float32", "BF16": "bfloat16"}[expected]


def _safetensors_header(path):
    with open(path, "rb") as handle:
        size = int.from_bytes(handle.read(8), "little")
        return handle.read(size)


def test_eval_with_dtype_float32_runs_end_to_end(checkpoints, tmp_path):
    from socialfusion_plugin import registry
    from socialfusion_plugin.demo.releases import hagrid
    from socialfusion_plugin.tasks.conversion import convert

    root = hagrid.standard_release(tmp_path / "hagrid")
    data = tmp_path / "gesture_test.json"
    convert(registry.TASKS.get("gesture"), root, "test", data, progress=False)
    out = tmp_path / "gesture.preds.jsonl"
    argv = ["eval", "--model-path", str(checkpoints.lora), "--model-base", checkpoints.base, "--task", "gesture",
            "--data", str(data), "--image-folder", str(root), "--out", str(out), "--max-new-tokens", "4",
            "--batch-size", "2", "--dtype", "float32", "--no-progress"]
    assert main(argv) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(json.loads(data.read_text())) > 0
    assert all(isinstance(row["text"], str) for row in rows)
