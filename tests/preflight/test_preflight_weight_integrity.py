"""Weight files cut short are found from their headers before any model loads."""
import pickle

import pytest
import torch
from safetensors.torch import save_file

from socialfusion_plugin.preflight.weight_integrity import weight_file_problem


def safetensors_file(path):
    save_file({"a": torch.arange(64, dtype=torch.float32), "b": torch.zeros(3, 3)}, str(path))
    return path


def torch_file(path):
    torch.save({"a": torch.arange(64, dtype=torch.float32)}, path)
    return path


def cut(path, keep):
    path.write_bytes(path.read_bytes()[:keep])
    return path


def test_complete_files_pass(tmp_path):
    assert weight_file_problem(safetensors_file(tmp_path / "m.safetensors")) is None
    assert weight_file_problem(torch_file(tmp_path / "m.bin")) is None
    legacy = tmp_path / "legacy.pt"
    torch.save({"a": torch.zeros(2)}, legacy, _use_new_zipfile_serialization=False)
    assert weight_file_problem(legacy) is None  # pre-zip format: nothing to check, passes


@pytest.mark.parametrize("make, keep, fragment", [
    (safetensors_file, -10, "is truncated: "),
    (safetensors_file, 5, "shorter than a safetensors header"),
    (safetensors_file, 40, "is truncated or not safetensors: its header claims"),
    (torch_file, -30, "is a cut torch archive"),
    (torch_file, 0, "is empty (0 bytes)"),
])
def test_cut_files_are_named(tmp_path, make, keep, fragment):
    suffix = ".safetensors" if make is safetensors_file else ".bin"
    path = make(tmp_path / f"w{suffix}")
    size = path.stat().st_size
    cut(path, size + keep if keep < 0 else keep)
    problem = weight_file_problem(path)
    assert problem is not None and problem.startswith(str(path)) and fragment in problem, problem


def test_other_bytes_are_not_a_torch_file(tmp_path):
    path = tmp_path / "w.bin"
    path.write_bytes(b"<html>404</html>")
    assert "is not a torch weight file" in weight_file_problem(path)


def test_a_corrupt_safetensors_header_is_named(tmp_path):
    path = tmp_path / "w.safetensors"
    header = b"{not json"
    path.write_bytes(len(header).to_bytes(8, "little") + header)
    assert "has a corrupt safetensors header" in weight_file_problem(path)


def test_only_headers_are_read(tmp_path, monkeypatch):
    path = safetensors_file(tmp_path / "m.safetensors")
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("a weight file was unpickled"))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("a weight file was loaded"))
    assert weight_file_problem(path) is None and weight_file_problem(torch_file(tmp_path / "x.bin")) is None


# ---- trained weights (connector, LoRA): every tensor finite ----------------------------------

from socialfusion_plugin.preflight.weight_integrity import non_finite_tensor_problem  # noqa: E402


@pytest.mark.parametrize("suffix", [".safetensors", ".bin"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_non_finite_tensor_is_named_with_its_file(tmp_path, suffix, dtype, bad):
    broken = torch.ones(4, 3, dtype=dtype)
    broken[1, 2] = bad
    state = {"model.mm_projector.0.weight": torch.ones(3, dtype=dtype), "model.mm_projector.2.weight": broken,
             "steps": torch.tensor([7])}
    path = tmp_path / f"non_lora_trainables{suffix}"
    save_file(state, str(path)) if suffix == ".safetensors" else torch.save(state, path)
    problem = non_finite_tensor_problem(path)
    assert problem is not None and problem.startswith(f"{path}: tensor model.mm_projector.2.weight holds 1 NaN or "
                                                       "infinite value(s) of 12"), problem
    state["model.mm_projector.2.weight"] = torch.ones(4, 3, dtype=dtype)
    save_file(state, str(path)) if suffix == ".safetensors" else torch.save(state, path)
    assert non_finite_tensor_problem(path) is None


def test_a_file_that_cannot_be_read_here_is_left_to_the_loader(tmp_path):
    cut_file = cut(safetensors_file(tmp_path / "w.safetensors"), 30)
    assert non_finite_tensor_problem(cut_file) is None and weight_file_problem(cut_file) is not None
    code = tmp_path / "code.bin"
    torch.save({"w": torch.zeros(2), "f": pickle.dumps}, code)  # weights_only=True refuses the function
    assert non_finite_tensor_problem(code) is None
