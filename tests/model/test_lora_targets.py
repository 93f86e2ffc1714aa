import re

import torch.nn as nn
from peft import LoraConfig, get_peft_model

from socialfusion_plugin.host.llava.environment.llava_modules import (language_model_linear_names,
                                                                      language_model_lora_targets)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.q_proj = nn.Linear(8, 8)
        self.out_proj = nn.Linear(8, 8)  # the same leaf name as open_clip attention's out_proj


class ToyVisionLanguageModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([Attention()])
        self.vision_tower = nn.ModuleDict({"attn": Attention()})
        self.mm_projector = nn.Sequential(nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 8))
        self.lm_head = nn.Linear(8, 8)

    def forward(self, x):
        return self.lm_head(self.layers[0].out_proj(x))


def test_leaf_names_exclude_multimodal_modules_and_lm_head():
    assert language_model_linear_names(ToyVisionLanguageModel()) == ["out_proj", "q_proj"]


def test_regex_never_matches_inside_tower_or_connector():
    pattern = language_model_lora_targets(ToyVisionLanguageModel())
    assert re.fullmatch(pattern, "layers.0.out_proj")
    assert re.fullmatch(pattern, "base_model.model.model.layers.0.q_proj")
    assert not re.fullmatch(pattern, "vision_tower.attn.out_proj")
    assert not re.fullmatch(pattern, "model.vision_tower.vision_tower.transformer.resblocks.0.attn.out_proj")
    assert not re.fullmatch(pattern, "model.mm_projector.0")
    assert not re.fullmatch(pattern, "lm_head")


def test_peft_with_the_regex_puts_no_lora_in_the_tower():
    model = get_peft_model(ToyVisionLanguageModel(),
                           LoraConfig(r=2, target_modules=language_model_lora_targets(ToyVisionLanguageModel())))
    lora = [name for name, _ in model.named_parameters() if "lora_" in name]
    assert lora and not any("vision_tower" in name or "mm_projector" in name for name in lora)
    assert any("layers.0.out_proj.lora_A" in name for name in lora)
