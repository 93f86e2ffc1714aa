"""safe_load.read: the reader behind every checkpoint file the plugin loads. What each kind of file
holds loads; a pickle that would call anything else is refused, naming the file and the global, and
nothing in it runs: with the running torch's defaults, with TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 (which
makes unflagged torch.load calls unsafe on torch >= 2.6) and with TORCH_FORCE_WEIGHTS_ONLY_LOAD=1."""
import random
import warnings

import numpy as np
import pytest
import torch

from socialfusion_plugin.host.llava.environment.host_loads import install_safe_torch_load
from socialfusion_plugin.safe_load import (DEEPSPEED_STATE, RNG_STATE, TENSORS, UnsafeFileError,
                                                 prefer_safetensors, read)
from malicious_pickles import CreatesMarker, apply_setting

SETTINGS = ["torch as is", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1", "TORCH_FORCE_WEIGHTS_ONLY_LOAD=1"]
CAN_ALLOW_GLOBALS = hasattr(torch.serialization, "safe_globals")  # torch >= 2.5


@pytest.fixture(params=SETTINGS)
def setting(request, monkeypatch):
    return apply_setting(monkeypatch, request.param)


def rng_state():
    """What transformers writes into rng_state.pth."""
    return {"python": random.getstate(), "numpy": np.random.get_state(), "cpu": torch.random.get_rng_state()}


def optimizer_and_scheduler_states():
    params = [torch.nn.Parameter(torch.randn(3, 2)), torch.nn.Parameter(torch.randn(2))]
    optimizer = torch.optim.AdamW(params, lr=1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (step + 1))
    (params[0].sum() + params[1].sum()).backward()
    optimizer.step()
    scheduler.step()
    return optimizer.state_dict(), scheduler.state_dict()


def deepspeed_state():
    """The records DeepSpeed's ZeRO-2/3 optimizer and model-state files pickle besides tensors."""
    from deepspeed.runtime.fp16.loss_scaler import DynamicLossScaler, LossScaler
    from deepspeed.runtime.zero.config import ZeroStageEnum
    from deepspeed.utils.tensor_fragment import fragment_address

    flat = torch.randn(6)
    flat.ds_id = 3  # a tensor with attributes pickles through torch._tensor._rebuild_from_type_v2
    return {"loss_scaler": LossScaler(1.0), "dynamic": DynamicLossScaler(init_scale=2.0 ** 16, scale_window=1000,
                                                                          min_scale=1, delayed_shift=2,
                                                                          consecutive_hysteresis=False),
            "zero_stage": ZeroStageEnum(3), "param_slice_mappings": [{"w": fragment_address(numel=4, start=0)}],
            "fp32_flat_groups": [flat], "param_shapes": [{"w": torch.Size([2, 2])}], "set": {1, 2},
            "ds_config": {"zero_optimization": {"stage": 3}}, "ds_version": "0.0"}


def test_what_each_kind_of_file_holds_loads(tmp_path, setting):
    state = {"model.mm_projector.0.weight": torch.randn(4, 3), "bf16": torch.randn(2).to(torch.bfloat16),
             "param": torch.nn.Parameter(torch.randn(2))}
    torch.save(state, tmp_path / "non_lora_trainables.bin")
    loaded = read(tmp_path / "non_lora_trainables.bin")
    assert all(torch.equal(loaded[key], state[key]) for key in state)

    optimizer, scheduler = optimizer_and_scheduler_states()
    torch.save(optimizer, tmp_path / "optimizer.pt")
    torch.save(scheduler, tmp_path / "scheduler.pt")
    assert torch.equal(read(tmp_path / "optimizer.pt")["state"][0]["exp_avg"], optimizer["state"][0]["exp_avg"])
    assert read(tmp_path / "scheduler.pt") == scheduler

    expected = rng_state()
    torch.save(expected, tmp_path / "rng_state.pth")
    torch.save(deepspeed_state(), tmp_path / "optim_states.pt")
    if setting.startswith("TORCH_FORCE_WEIGHTS_ONLY_LOAD") and not CAN_ALLOW_GLOBALS:
        # torch's own weights-only reader is all that is left, and torch < 2.5 cannot allow numpy
        with pytest.raises(UnsafeFileError, match="rng_state.pth"):
            read(tmp_path / "rng_state.pth", RNG_STATE)
        return
    rng = read(tmp_path / "rng_state.pth", RNG_STATE)
    assert rng["python"] == expected["python"] and torch.equal(rng["cpu"], expected["cpu"])
    assert rng["numpy"][0] == expected["numpy"][0] and np.array_equal(rng["numpy"][1], expected["numpy"][1])
    ds = read(tmp_path / "optim_states.pt", DEEPSPEED_STATE)
    assert ds["loss_scaler"].cur_scale == 1.0 and ds["dynamic"].cur_scale == 2.0 ** 16 and ds["zero_stage"] == 3
    assert ds["param_slice_mappings"][0]["w"].numel == 4 and ds["fp32_flat_groups"][0].ds_id == 3


@pytest.mark.parametrize("kind", [TENSORS, RNG_STATE, DEEPSPEED_STATE], ids=["tensors", "rng", "deepspeed"])
def test_a_pickle_that_calls_anything_else_is_refused_naming_the_file(tmp_path, setting, kind):
    marker = tmp_path / "pickle-code-ran"
    path = tmp_path / "state.pt"
    torch.save({"weight": torch.zeros(2), "payload": CreatesMarker(marker)}, path)
    with pytest.raises(UnsafeFileError) as raised:
        read(path, kind)
    assert str(path) in str(raised.value)
    if not setting.startswith("TORCH_FORCE_WEIGHTS_ONLY_LOAD"):  # torch's own reader words it its way
        assert "builtins.exec" in str(raised.value)
    assert not marker.exists()
    if kind is TENSORS and bare_torch_load_runs_code(setting):
        # the control: in this setting torch.load without weights_only (as LLaVA and transformers call
        # it) runs the pickle's code
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns that the variable forces weights_only=False
            torch.load(path)
        assert marker.exists()


def bare_torch_load_runs_code(setting) -> bool:
    defaults_to_weights_only = tuple(int(part) for part in torch.__version__.split(".")[:2]) >= (2, 6)
    if setting.startswith("TORCH_FORCE_WEIGHTS_ONLY_LOAD"):
        return False
    return not defaults_to_weights_only or setting.startswith("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")


def test_an_rng_file_may_not_carry_deepspeed_objects(tmp_path):
    # each kind allows what its file holds, not the union of all kinds
    torch.save(deepspeed_state(), tmp_path / "rng_state.pth")
    with pytest.raises(UnsafeFileError, match="deepspeed.runtime.fp16.loss_scaler.LossScaler"):
        read(tmp_path / "rng_state.pth", RNG_STATE)


def test_safetensors_twin_is_preferred(tmp_path):
    from safetensors.torch import save_file

    bin_path = tmp_path / "non_lora_trainables.bin"
    assert prefer_safetensors(bin_path) == bin_path
    save_file({"w": torch.ones(2)}, tmp_path / "non_lora_trainables.safetensors")
    assert prefer_safetensors(bin_path) == tmp_path / "non_lora_trainables.safetensors"
    assert torch.equal(read(prefer_safetensors(bin_path))["w"], torch.ones(2))
    assert prefer_safetensors(tmp_path / "optimizer.pt") == tmp_path / "optimizer.pt"


def test_llava_pretrain_adapter_load_is_guarded_once_installed(tiny_assets, tmp_path, monkeypatch, setting):
    # LLaVA's initialize_vision_modules reads --pretrain_mm_mlp_adapter (a stage-1 mm_projector.bin) with
    # a bare torch.load; install_safe_torch_load(llava_arch) routes it through safe_load.read
    from types import SimpleNamespace

    from llava.model import llava_arch

    from socialfusion_plugin.host.llava.diagnostics.model_factory import ModelSpec, build_model

    monkeypatch.setattr(llava_arch, "torch", llava_arch.torch)  # restored after the test
    install_safe_torch_load(llava_arch)
    install_safe_torch_load(llava_arch)  # idempotent
    model = build_model(ModelSpec(str(tiny_assets.llm_dir), tiny_assets.vision_tower, lora=False)).model
    projector = {f"model.{name}": torch.randn_like(p) for name, p in model.get_model().named_parameters()
                 if name.startswith("mm_projector.")}
    args = SimpleNamespace(vision_tower=tiny_assets.vision_tower, mm_vision_select_layer=-2,
                           mm_vision_select_feature="patch", mm_patch_merge_type="flat",
                           mm_projector_type="mlp2x_gelu", pretrain_mm_mlp_adapter=str(tmp_path / "mm_projector.bin"))
    torch.save(projector, tmp_path / "mm_projector.bin")
    model.get_model().initialize_vision_modules(args)
    assert torch.equal(model.get_model().mm_projector[0].weight, projector["model.mm_projector.0.weight"])

    marker = tmp_path / "pickle-code-ran"
    torch.save({"model.mm_projector.0.weight": CreatesMarker(marker)}, tmp_path / "mm_projector.bin")
    with pytest.raises(UnsafeFileError, match="mm_projector.bin"):
        model.get_model().initialize_vision_modules(args)
    assert not marker.exists()


def test_a_pickle_may_not_change_an_allowed_class(tmp_path, setting):
    # BUILD with a (state, slotstate) pair on an allowed global would setattr on it for the whole
    # process: here `torch._utils._rebuild_tensor_v2.__defaults__ = ("x",)`. Hand-written pickle.
    import zipfile

    payload = (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\nN}X\x0c\x00\x00\x00__defaults__"
               b"X\x01\x00\x00\x00x\x85s\x86b}X\x01\x00\x00\x00xK\x01s.")
    plain, path = tmp_path / "plain.pt", tmp_path / "state.pt"
    torch.save({"x": 1}, plain)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as target:  # torch's layout, new pickle
        for entry in source.infolist():
            data = payload if entry.filename.endswith("/data.pkl") else source.read(entry)
            target.writestr(entry, data)
    before = torch._utils._rebuild_tensor_v2.__defaults__
    with pytest.raises(UnsafeFileError) as raised:
        read(path)
    assert str(path) in str(raised.value)
    if not setting.startswith("TORCH_FORCE_WEIGHTS_ONLY_LOAD"):
        assert "set attributes of torch._utils._rebuild_tensor_v2" in str(raised.value)
    assert torch._utils._rebuild_tensor_v2.__defaults__ == before
