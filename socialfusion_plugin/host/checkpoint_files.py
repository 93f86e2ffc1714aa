"""The file names of LLaVA checkpoints and what a checkpoint folder holds, in one place (the loaders,
the trainer, resume and preflight use them)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

from ..host_interface import CheckpointFiles

ADAPTER_CONFIG = "adapter_config.json"  # peft's: LoRA adapters are in the folder
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
NON_LORA_FILE = "non_lora_trainables.bin"  # stock LLaVA's loader asks for it by name
NON_LORA_SAFETENSORS = "non_lora_trainables.safetensors"  # the same tensors; what the plugin reads when present
PROJECTOR_FILE = "mm_projector.bin"  # a pretraining stage's connector

LLAVA_CHECKPOINT_FILES = CheckpointFiles(adapter_config=ADAPTER_CONFIG, adapter_weights=ADAPTER_WEIGHTS,
                                         connector=NON_LORA_FILE, connector_safetensors=NON_LORA_SAFETENSORS,
                                         projector=PROJECTOR_FILE)


@dataclass(frozen=True)
class CheckpointContents:
    """What a checkpoint folder holds, read from its files (never from its name). Every loader
    decides its kind from this one reading."""
    path: Path
    config: Optional[Dict[str, Any]]  # config.json, None when absent
    has_adapters: bool  # LoRA adapters (adapter_config.json)
    has_connector: bool  # non_lora_trainables.bin beside the adapters
    has_projector: bool  # mm_projector.bin (connector-only checkpoint)

    @property
    def multimodal(self) -> bool:
        """A LLaVA model (config.json names a vision tower), not a plain language model."""
        return bool((self.config or {}).get("mm_vision_tower"))


def inspect_checkpoint(model_path) -> CheckpointContents:
    path = Path(model_path)
    config_path = path / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else None
    return CheckpointContents(path=path, config=config, has_adapters=(path / ADAPTER_CONFIG).is_file(),
                              has_connector=(path / NON_LORA_FILE).is_file(),
                              has_projector=(path / PROJECTOR_FILE).is_file())
