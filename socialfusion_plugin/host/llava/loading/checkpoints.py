"""Loading trained checkpoints through LLaVA's own loader (its path chosen from the checkpoint's FILES,
see llava_loader.py), and merging LoRA into a full model."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from socialfusion_plugin.errors import CheckpointError
from socialfusion_plugin.host.llava.loading.checkpoint_files import checkpoint_kind
from socialfusion_plugin.host_interface import LoadedModel


def load_checkpoint(model_path, model_base: Optional[str] = None, device: str = "cpu",
                    dtype: Optional[str] = None) -> LoadedModel:
    """Load a LoRA (+ base), connector-only (+ base), merged/full checkpoint or plain language model
    with LLaVA's loader. `dtype` None: float32 on the CPU, LLaVA's float16 on an accelerator."""
    from socialfusion_plugin.host.llava.environment.model_hooks import install_model_hooks
    from socialfusion_plugin.host.llava.loading.llava_loader import file_dispatch, resolve_dtype

    install_model_hooks()
    from llava.model import builder

    kind = checkpoint_kind(Path(model_path), model_base)
    # a patched builder's function is wrapped already (file_dispatch then returns it as it is)
    tokenizer, model, image_processor, context_len = file_dispatch(builder.load_pretrained_model)(
        str(model_path),
        model_base,
        str(model_path),  # the kind comes from the files; LLaVA gets a name that selects it
        device=device,  # LLaVA maps any non-"cuda" device to device_map={"": device} itself
        torch_dtype=resolve_dtype(device, dtype),
    )
    model.eval()
    if tokenizer.pad_token is None:
        # LLaVA's train() pads with <unk> (LLaMA tokenizers have no pad token); a LoRA checkpoint's
        # tokenizer comes from model_base, unchanged, so batched inference needs the same choice.
        tokenizer.pad_token = tokenizer.unk_token
    return LoadedModel(tokenizer, model, image_processor, context_len, kind)


def merge_lora(model_path, model_base: str, out_dir, device: str = "cpu", dtype: Optional[str] = None) -> Path:
    """Write a merged checkpoint that LLaVA loads without model_base, in `dtype` (default: float32 on
    the CPU, float16 on an accelerator). The frozen tower's weights are not copied: the tower is
    rebuilt from `mm_vision_tower` like in every other checkpoint."""
    if checkpoint_kind(Path(model_path), model_base) != "lora":
        raise CheckpointError(f"{model_path} is not a LoRA checkpoint of a LLaVA model; nothing to merge")
    loaded = load_checkpoint(model_path, model_base, device=device, dtype=dtype)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = loaded.model
    state = {k: v for k, v in model.state_dict().items() if ".vision_tower." not in f".{k}"}
    model.config.use_cache = True
    model.save_pretrained(out_dir, state_dict=state, safe_serialization=True)
    loaded.tokenizer.save_pretrained(out_dir)
    return out_dir
