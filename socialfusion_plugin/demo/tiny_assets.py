"""Tiny random models built offline, in the formats real runs use.

- a LLaMA checkpoint folder (config, safetensors weights, SentencePiece tokenizer) that LLaVA's
  `LlavaLlamaForCausalLM.from_pretrained` and `AutoTokenizer(use_fast=False)` load like Vicuna;
- an open_clip ViT architecture JSON (32 px, patch 8) and a checkpoint file, addressed as
  `open_clip:<arch.json>@<weights.pt>` exactly like a real tower.

Everything is seeded, so the same seed gives the same weights and tokenizer.
"""
from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Optional, Tuple

from ..atomic_files import atomic_write_json

# Sentences the tiny tokenizer learns from: LLaVA's conversation template words, the demo's and the
# tasks' vocabulary. byte_fallback makes any other text encodable, so no sample hits <unk> (which
# is also LLaVA's pad token and would be masked out of attention).
_CORPUS = [
    "A chat between a curious human and an artificial intelligence assistant.",
    "The assistant gives helpful, detailed, and polite answers to the human's questions.",
    "USER: <image> What color is the square in the picture? ASSISTANT: red</s>",
    "USER: Which gesture is shown? ASSISTANT: like dislike peace ok palm stop fist call</s>",
    "What is the relationship between the two people? friends family couple professional commercial no relation",
    "Where is the person looking? (0.42, 0.61) out of frame",
    "Which emotions does the person feel? Happiness, Engagement, Pleasure, Peace, Anticipation",
    "red green blue yellow white black square circle color picture image answer one word",
    "0 1 2 3 4 5 6 7 8 9 0.12 0.30 0.45 0.88 [ ] ( ) , . : ? !",
]

TOWER_ARCH_NAME = "sf-tiny-vit"


@dataclass(frozen=True)
class TinyAssets:
    llm_dir: Path
    tower_arch: Path
    tower_weights: Path

    @property
    def vision_tower(self) -> str:
        return f"open_clip:{self.tower_arch}@{self.tower_weights}"


@dataclass(frozen=True)
class TinyLlmShape:
    """How the tiny language model is built; the default is the one the tests use."""

    hidden_size: int = 64
    layers: int = 2
    # re-draw the output layer with this std. With LLaMA's default 0.02 and hidden size 64, no logit can
    # exceed about 1.3 (the final norm fixes the hidden state's length, and the head is frozen under
    # LoRA), so such a model can never put much probability on one answer
    head_init_std: Optional[float] = None
    extra_texts: Tuple[str, ...] = ()  # more tokenizer training sentences (e.g. label names as whole pieces)


def build_tiny_tokenizer(out_dir: Path, extra_texts: Iterable[str] = ()):
    """Train a SentencePiece model in well under a second and wrap it as LLaMA's slow tokenizer."""
    import sentencepiece as spm
    from transformers import LlamaTokenizer

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(list(_CORPUS) + list(extra_texts)), model_writer=model, vocab_size=400,
        model_type="bpe", byte_fallback=True, character_coverage=1.0, hard_vocab_limit=False,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1, minloglevel=2)
    vocab_file = out_dir / "tokenizer.model"
    vocab_file.write_bytes(model.getvalue())
    # legacy=True: LLaVA's preprocess_v1 counts tokens the legacy way; legacy=False masks every label.
    tokenizer = LlamaTokenizer(vocab_file=str(vocab_file), legacy=True)
    tokenizer.save_pretrained(out_dir)
    return tokenizer


def build_tiny_llm(out_dir: Path, seed: int = 0, shape: TinyLlmShape = TinyLlmShape()) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out_dir = Path(out_dir)
    tokenizer = build_tiny_tokenizer(out_dir, extra_texts=shape.extra_texts)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=shape.hidden_size, intermediate_size=shape.hidden_size * 2,
        num_hidden_layers=shape.layers, num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=None,
        tie_word_embeddings=False)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    if shape.head_init_std is not None:
        with torch.no_grad():
            model.lm_head.weight.normal_(0.0, shape.head_init_std)
    model.save_pretrained(out_dir, safe_serialization=True)
    return out_dir


def tiny_tower_architecture(layers: int = 3) -> dict:
    return {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 32, "layers": layers, "width": 64, "patch_size": 8, "head_width": 32},
        "text_cfg": {"context_length": 16, "vocab_size": 64, "width": 32, "heads": 2, "layers": 1},
    }


def build_tiny_tower(out_dir: Path, seed: int = 0) -> tuple:
    """(architecture json path, weights path) of a tiny random open_clip ViT (8 px patches)."""
    import open_clip
    import torch

    arch_file = atomic_write_json(Path(out_dir) / f"{TOWER_ARCH_NAME}.json", tiny_tower_architecture())
    if TOWER_ARCH_NAME not in open_clip.list_models():
        open_clip.add_model_config(arch_file)
    from ..model.open_clip_tower import quiet_random_init_warning

    torch.manual_seed(seed)
    with quiet_random_init_warning():  # random on purpose: this IS the tiny tower's checkpoint
        model = open_clip.create_model(TOWER_ARCH_NAME, pretrained=None)
    weights = arch_file.with_suffix(".pt")
    torch.save(model.state_dict(), weights)
    return arch_file, weights


def build_tiny_assets(root: Path, seed: int = 0, llm: TinyLlmShape = TinyLlmShape()) -> TinyAssets:
    """Build (or reuse, when already complete and built the same way) the tiny LLM and tower under `root`."""
    root = Path(root)
    llm_dir, tower_dir = root / "tiny-llama", root / "tiny-tower"
    arch_file, weights = tower_dir / f"{TOWER_ARCH_NAME}.json", tower_dir / f"{TOWER_ARCH_NAME}.pt"
    recipe = json.dumps({"seed": seed, **asdict(llm)}, sort_keys=True)
    recipe_file = llm_dir / "tiny_llm_build.json"
    complete = (llm_dir / "model.safetensors").is_file() and (llm_dir / "tokenizer.model").is_file()
    if not complete or not recipe_file.is_file() or recipe_file.read_text(encoding="utf-8") != recipe:
        build_tiny_llm(llm_dir, seed=seed, shape=llm)
        recipe_file.write_text(recipe, encoding="utf-8")
    if not arch_file.is_file() or not weights.is_file():
        arch_file, weights = build_tiny_tower(tower_dir, seed=seed)
    return TinyAssets(llm_dir=llm_dir, tower_arch=arch_file, tower_weights=weights)
