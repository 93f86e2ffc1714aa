"""Loading a checkpoint never runs code, whatever the plugin loads it through: `socialfusion eval`,
`socialfusion merge`, `load_checkpoint` (LLaVA's loader, transformers' from_pretrained, peft's adapter
loading), the diagnostics' trainable loader and resume's connector restore. A malicious pickle (its
__reduce__ creates a marker file) in each file they read is refused with an error naming the file, and
the marker never appears: with the running torch as is, and with TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1.

The plugin's checkpoints carry the connector twice (non_lora_trainables.safetensors beside the .bin
stock LLaVA asks for): the safetensors file is what its loaders read, and a checkpoint with only the
.bin (written before) still loads."""
import shutil

import pytest
import torch
from tiny_llava_checkpoints import write_lora_and_projector_checkpoints

from socialfusion_plugin.cli.main import main
from socialfusion_plugin.host.llava.loading.checkpoints import CheckpointError, load_checkpoint
from malicious_pickles import CreatesMarker, apply_setting

SETTINGS = ["torch as is", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1"]


@pytest.fixture(params=SETTINGS)
def setting(request, monkeypatch):
    return apply_setting(monkeypatch, request.param)


@pytest.fixture(scope="module")
def clean(tiny_assets, tmp_path_factory):
    """(LoRA folder, connector-only folder) with only the .bin connector files, as older checkpoints."""
    return write_lora_and_projector_checkpoints(tiny_assets, tmp_path_factory.mktemp("safe-load-checkpoints"))


def copy_of(folder, tmp_path):
    target = tmp_path / folder.name
    shutil.copytree(folder, target)
    return target


def poison(path, marker):
    """A torch file whose pickle runs code; the key is one a real file of that name has."""
    torch.save({"model.mm_projector.0.weight": CreatesMarker(marker)}, path)


def base_with_bin_weights(tiny_assets, tmp_path, marker):
    """The base language model with its weights as pytorch_model.bin (a poisoned one)."""
    base = tmp_path / "base-llm"
    shutil.copytree(tiny_assets.llm_dir, base)
    (base / "model.safetensors").unlink()
    poison(base / "pytorch_model.bin", marker)
    return base


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.mm_projector = torch.nn.Linear(3, 4)


def through_load_checkpoint(folder, base, tmp_path, capsys):
    load_checkpoint(folder, base)


def through_eval(folder, base, tmp_path, capsys):
    args = ["eval", "--model-path", str(folder), "--data", str(through_eval.data), "--image-folder",
            str(through_eval.data.parent / "images"), "--out", str(tmp_path / "loss.json"), "--mode", "loss",
            "--no-progress"]
    if base is not None:
        args += ["--model-base", str(base)]
    assert main(args) == 2
    raise CheckpointError(capsys.readouterr().err)


def through_merge(folder, base, tmp_path, capsys):
    args = ["merge", "--model-path", str(folder), "--model-base", str(base), "--out", str(tmp_path / "merged")]
    assert main(args) == 2
    raise CheckpointError(capsys.readouterr().err)


def through_trainable_model(folder, base, tmp_path, capsys):
    from socialfusion_plugin.host.llava.diagnostics.model_factory import load_trainable_model

    load_trainable_model(folder, model_base=str(base))


def through_resume_restore(folder, base, tmp_path, capsys):
    from socialfusion_plugin.host.llava.training.resume import restore_non_lora_trainables

    restore_non_lora_trainables(Tiny(), str(folder))


ENTRIES = {"load_checkpoint": through_load_checkpoint, "socialfusion eval": through_eval,
           "socialfusion merge": through_merge, "trainable model (conflict)": through_trainable_model,
           "resume": through_resume_restore}

CASES = [("lora", "non_lora_trainables.bin", entry) for entry in ENTRIES] + [
    ("projector", "mm_projector.bin", "load_checkpoint"), ("projector", "mm_projector.bin", "socialfusion eval"),
    ("lora", "adapter_model.bin", "load_checkpoint"), ("lora", "adapter_model.bin", "trainable model (conflict)"),
    ("lora", "base pytorch_model.bin", "load_checkpoint"), ("lora", "base pytorch_model.bin", "socialfusion merge"),
    ("language model", "base pytorch_model.bin", "socialfusion eval"),
    ("full", "pytorch_model.bin", "load_checkpoint"),
]


@pytest.mark.parametrize("kind, file_name, entry", CASES)
def test_a_pickle_in_any_loaded_file_is_refused_and_never_runs(clean, tiny_assets, color_data, tmp_path, capsys,
                                                                 setting, kind, file_name, entry):
    through_eval.data = color_data
    marker = tmp_path / "pickle-code-ran"
    base = str(tiny_assets.llm_dir)
    if kind == "language model":  # a plain language model, scored by eval --mode loss
        folder, base = base_with_bin_weights(tiny_assets, tmp_path, marker), None
        bad = folder / "pytorch_model.bin"
    elif kind == "full":  # a merged/full LLaVA checkpoint whose weights are a .bin
        folder = copy_of(clean[0], tmp_path)
        for name in ("adapter_config.json", "adapter_model.safetensors", "non_lora_trainables.bin"):
            (folder / name).unlink()
        for name in ("tokenizer.model", "tokenizer_config.json", "special_tokens_map.json"):
            shutil.copy(tiny_assets.llm_dir / name, folder / name)
        bad, base = folder / file_name, None
        poison(bad, marker)
    else:
        folder = copy_of(clean[0] if kind == "lora" else clean[1], tmp_path)
        if file_name == "base pytorch_model.bin":
            base = str(base_with_bin_weights(tiny_assets, tmp_path, marker))
            bad = tmp_path / "base-llm" / "pytorch_model.bin"
        else:
            if file_name == "adapter_model.bin":
                (folder / "adapter_model.safetensors").unlink()
            bad = folder / file_name
            poison(bad, marker)
    with pytest.raises(CheckpointError) as raised:
        ENTRIES[entry](folder, base, tmp_path, capsys)
    assert str(bad) in str(raised.value), str(raised.value)
    assert not marker.exists()


def connector_of(model):
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return {name: p.detach().float() for name, p in base.get_model().mm_projector.state_dict().items()}


def test_the_safetensors_connector_is_read_instead_of_the_bin(clean, tiny_assets, tmp_path, setting):
    from safetensors.torch import save_file

    from socialfusion_plugin.host.llava.training.resume import restore_non_lora_trainables
    from socialfusion_plugin.host.llava.diagnostics.model_factory import load_trainable_model

    folder = copy_of(clean[0], tmp_path)
    saved = torch.load(folder / "non_lora_trainables.bin", weights_only=True)
    trained = {name: value + 1.0 for name, value in saved.items()}  # tells which file was read
    save_file(trained, folder / "non_lora_trainables.safetensors")
    marker = tmp_path / "pickle-code-ran"
    poison(folder / "non_lora_trainables.bin", marker)  # never opened while the .safetensors is there
    expected = {name.split("mm_projector.")[1]: value for name, value in trained.items()}

    loaded = load_checkpoint(folder, str(tiny_assets.llm_dir))
    assert all(torch.allclose(connector_of(loaded.model)[k], v) for k, v in expected.items())
    trainable = load_trainable_model(folder, model_base=str(tiny_assets.llm_dir))
    assert trainable.loaded_keys["non_lora_trainables.safetensors"] == len(trained)
    assert all(torch.allclose(connector_of(trainable.built.model)[k], v) for k, v in expected.items())
    model = Tiny()
    state = {"mm_projector.weight": torch.randn(4, 3), "mm_projector.bias": torch.randn(4)}
    save_file(state, folder / "non_lora_trainables.safetensors")
    assert restore_non_lora_trainables(model, str(folder)) == 2
    assert torch.equal(model.mm_projector.weight, state["mm_projector.weight"])
    assert not marker.exists()


def test_a_checkpoint_with_only_the_bin_still_loads(clean, tiny_assets, setting):
    folder = clean[0]
    assert not (folder / "non_lora_trainables.safetensors").exists()
    saved = torch.load(folder / "non_lora_trainables.bin", weights_only=True)
    loaded = load_checkpoint(folder, str(tiny_assets.llm_dir))
    expected = {name.split("mm_projector.")[1]: value for name, value in saved.items()}
    assert all(torch.allclose(connector_of(loaded.model)[k], v) for k, v in expected.items())
    projector = load_checkpoint(clean[1], str(tiny_assets.llm_dir))
    assert all(torch.allclose(connector_of(projector.model)[k], v) for k, v in expected.items())


def test_plain_bin_weight_files_load_through_the_readers(clean, tiny_assets, tmp_path, setting):
    # a base model with pytorch_model.bin (transformers' from_pretrained) and adapter_model.bin (peft)
    from safetensors.torch import load_file

    base = tmp_path / "base-llm"
    shutil.copytree(tiny_assets.llm_dir, base)
    torch.save(load_file(base / "model.safetensors"), base / "pytorch_model.bin")
    (base / "model.safetensors").unlink()
    folder = copy_of(clean[0], tmp_path)
    torch.save(load_file(folder / "adapter_model.safetensors"), folder / "adapter_model.bin")
    (folder / "adapter_model.safetensors").unlink()
    from_bins = load_checkpoint(folder, str(base)).model.state_dict()
    from_safetensors = load_checkpoint(clean[0], str(tiny_assets.llm_dir)).model.state_dict()
    assert from_bins.keys() == from_safetensors.keys()
    assert all(torch.equal(from_bins[key], from_safetensors[key]) for key in from_bins)
