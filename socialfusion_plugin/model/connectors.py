"""Connectors: the only new trainable module between the frozen vision tower and the language model.

A connector builder takes (mm_hidden_size, hidden_size) and returns an nn.Module mapping visual
tokens (B, T, mm_hidden_size) to language embeddings (B, T', hidden_size). `linear` and
`mlp2x_gelu` have exactly LLaVA's module layout, so LLaVA projector checkpoints
(`mm_projector.bin`, `non_lora_trainables.bin`) load into them unchanged; `avgpool2x2_mlp2x_gelu` takes an
`mlp2x_gelu` projector (e.g. LLaVA-1.5's released stage-1 one) into its MLP.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import UserInputError
from ..registry import CONNECTORS


def build_linear(mm_hidden_size: int, hidden_size: int) -> nn.Module:
    return nn.Linear(mm_hidden_size, hidden_size)


def build_mlp2x_gelu(mm_hidden_size: int, hidden_size: int) -> nn.Module:
    # Same layout as LLaVA-1.5's projector: keys 0.weight / 2.weight.
    return nn.Sequential(nn.Linear(mm_hidden_size, hidden_size), nn.GELU(), nn.Linear(hidden_size, hidden_size))


class PooledMLPConnector(nn.Module):
    """2x2 average pooling of the patch grid, then LLaVA's two-layer GELU MLP.

    Cuts the visual tokens the language model attends to by 4x (576 -> 144 for ViT-L/14-336),
    which shortens sequences and speeds training for social tasks whose cues are mostly coarse
    (pose, gaze direction, who is near whom). A leading CLS token (`--mm_vision_select_feature
    cls_patch`) is kept as is and projected with the same MLP.
    """

    def __init__(self, mm_hidden_size: int, hidden_size: int, pool: int = 2):
        super().__init__()
        self.pool = pool
        self.mlp = build_mlp2x_gelu(mm_hidden_size, hidden_size)

    @staticmethod
    def _split_grid(tokens: torch.Tensor):
        count = tokens.shape[1]
        side = math.isqrt(count)
        if side * side == count:
            return None, tokens, side
        side = math.isqrt(count - 1)
        if side * side == count - 1:
            return tokens[:, :1], tokens[:, 1:], side
        raise UserInputError(
            f"pooled connector expects a square patch grid (optionally after one CLS token), got {count} tokens"
        )

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A projector in LLaVA-1.5's mlp2x_gelu layout (stage 1's mm_projector.bin: `0.*`, `2.*` once LLaVA
        # strips `model.mm_projector.`) is this connector's MLP: it loads as `mlp.0.*`, `mlp.2.*`. The
        # plugin's own checkpoints already say `mlp.` and are left alone.
        for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
            if prefix + name in state_dict and prefix + "mlp." + name not in state_dict:
                state_dict[prefix + "mlp." + name] = state_dict.pop(prefix + name)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        prefix, grid, side = self._split_grid(tokens)
        batch, _, channels = grid.shape
        grid = grid.transpose(1, 2).reshape(batch, channels, side, side)
        pooled = F.adaptive_avg_pool2d(grid, math.ceil(side / self.pool)).flatten(2).transpose(1, 2)
        if prefix is not None:
            pooled = torch.cat([prefix, pooled], dim=1)
        return self.mlp(pooled)


BUILTIN_CONNECTORS = {
    "linear": build_linear,
    "mlp2x_gelu": build_mlp2x_gelu,
    "avgpool2x2_mlp2x_gelu": PooledMLPConnector,  # pool=2
}


def build_connector(name: str, mm_hidden_size: int, hidden_size: int) -> nn.Module:
    return CONNECTORS.get(name)(mm_hidden_size, hidden_size)
