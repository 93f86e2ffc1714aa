"""Loading trained checkpoints through LLaVA's own loader, and merging LoRA into a full model.

LLaVA's `load_pretrained_model` picks its code path from substrings of the model NAME ('llava',
'lora'). A checkpoint's kind is decided here from its FILES instead (`checkpoint_kind`), and
`llava_loader.file_dispatch` hands LLaVA a name that selects the matching path, so folder names do
not matter. The patched builder (patches/) uses the same wrapper, so LLaVA's own scripts agree.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional
from socialfusion_plugin.errors import UserInputError

from ..host_interface import LoadedModel
from .checkpoint_files import NON_LORA_FILE, inspect_checkpoint


class CheckpointError(UserInputError):
    """A checkpoint folder that cannot be loaded as asked; the message says what is missing."""


def checkpoint_kind(model_path: Path, model_base: Optional[str]) -> str:
    """From the files of `model_path`:
    - "lora": LoRA adapters + non_lora_trainables.bin (the connector; the plugin's trainer writes
      non_lora_trainables.safetensors beside it, which is read instead) of a LLaVA model, on `model_base`;
    - "projector": mm_projector.bin (a pretraining stage's connector) on `model_base`;
    - "full": a LLaVA checkpoint (config.json with mm_vision_tower), e.g. merged;
    - "language-model": a plain language model (no mm_vision_tower), or LoRA adapters of one on `model_base`.
    """
    model_path = Path(model_path)
    if not model_path.is_dir():
        raise CheckpointError(f"checkpoint folder {model_path} not found")
    contents = inspect_checkpoint(model_path)
    if contents.config is None and not contents.has_adapters:
        raise CheckpointError(f"{model_path} has no config.json: not a LLaVA checkpoint")
    if contents.has_adapters:
        if model_base is None:
            raise CheckpointError(f"{model_path} holds LoRA adapters: pass the base language model with --model-base")
        if not contents.multimodal:
            return "language-model"
        if not contents.has_connector:
            raise CheckpointError(
                f"{model_path} has LoRA adapters but no {NON_LORA_FILE} (the trained connector). Checkpoints "
                "written by `socialfusion train` always have it; stock LLaVA writes it only at the end."
            )
        return "lora"
    if model_base is not None and contents.has_projector:
        return "projector"
    return "full" if contents.multimodal else "language-model"


def load_checkpoint(model_path, model_base: Optional[str] = None, device: str = "cpu",
                    dtype: Optional[str] = None) -> LoadedModel:
    """Load a LoRA (+ base), connector-only (+ base), merged/full checkpoint or plain language model
    with LLaVA's loader. `dtype` None: float32 on the CPU, LLaVA's float16 on an accelerator."""
    from .install import install_model_hooks
    from .llava_loader import llava_loader, resolve_dtype

    install_model_hooks()
    kind = checkpoint_kind(Path(model_path), model_base)
    tokenizer, model, image_processor, context_len = llava_loader()(
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
