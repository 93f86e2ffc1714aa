"""The file names of LLaVA checkpoints, in one place (loaders, the trainer, resume and preflight use them)."""
from __future__ import annotations

from ..host_interface import CheckpointFiles

ADAPTER_CONFIG = "adapter_config.json"  # peft's: LoRA adapters are in the folder
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
NON_LORA_FILE = "non_lora_trainables.bin"  # stock LLaVA's loader asks for it by name
NON_LORA_SAFETENSORS = "non_lora_trainables.safetensors"  # the same tensors; what the plugin reads when present
PROJECTOR_FILE = "mm_projector.bin"  # a pretraining stage's connector

LLAVA_CHECKPOINT_FILES = CheckpointFiles(adapter_config=ADAPTER_CONFIG, adapter_weights=ADAPTER_WEIGHTS,
                                         connector=NON_LORA_FILE, connector_safetensors=NON_LORA_SAFETENSORS,
                                         projector=PROJECTOR_FILE)
