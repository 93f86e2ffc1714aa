"""Tiny checkpoints in the files LLaVA's training writes, built in-process in a second (no training):
a LoRA run folder (adapters + non_lora_trainables.bin + config.json) and a connector-only folder
(mm_projector.bin + config.json, as LLaVA's pretraining stage writes). Folder names contain neither
"llava" nor "lora", so only the files can tell the loader what they are."""
from __future__ import annotations

from pathlib import Path


def write_lora_and_projector_checkpoints(tiny_assets, root: Path, seed: int = 0):
    """(LoRA folder, connector-only folder) of one randomly initialized model; LoRA B is random too,
    so merging changes the language model's weights."""
    import torch

    from socialfusion_plugin.host.llava.diagnostics.model_factory import ModelSpec, build_model

    torch.manual_seed(seed)
    built = build_model(ModelSpec(str(tiny_assets.llm_dir), tiny_assets.vision_tower, lora=True))
    model = built.model
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.05)
    base = model.get_base_model()
    base.config.use_cache = True
    connector = {name: param.detach().clone() for name, param in model.named_parameters() if "mm_projector" in name}

    adapters = Path(root) / "social-adapters"
    model.save_pretrained(adapters)  # adapter_config.json + adapter_model.safetensors
    base.config.save_pretrained(adapters)
    # keys as LLaVA's trainer writes them: base_model.model.model.mm_projector.*
    torch.save(connector, adapters / "non_lora_trainables.bin")

    stage1 = Path(root) / "connector-stage1"
    stage1.mkdir(parents=True, exist_ok=True)
    base.config.save_pretrained(stage1)
    torch.save({name.replace("base_model.model.", "", 1): value for name, value in connector.items()},
               stage1 / "mm_projector.bin")  # keys as LLaVA's pretraining: model.mm_projector.*
    return adapters, stage1
