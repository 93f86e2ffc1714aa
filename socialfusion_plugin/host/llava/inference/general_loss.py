"""The forgetting check's measurement: mean token loss (and perplexity) of a model on held-out
general instruction samples in LLaVA's JSON format, tokenized by LLaVA's own `preprocess` exactly
as in training (only the assistant's tokens count).

A plain language model folder (no `mm_vision_tower` in its config.json, e.g. the Vicuna a LoRA run
started from) is loaded with transformers and scores only the text-only samples; samples with an
image are counted as skipped, never silently dropped.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch

from socialfusion_plugin.host.llava.environment.host_loads import host_loads_read_safely
from socialfusion_plugin.host.llava.environment.tokenization import conversation_template, preprocess_record
from socialfusion_plugin.host.llava.inference.eval_inputs import pad_id, padding_side
from socialfusion_plugin.host.llava.loading.checkpoint_files import inspect_checkpoint
from socialfusion_plugin.host_interface import LoadedModel

IGNORE_INDEX = -100


def is_language_model_only(model_path, model_base: Optional[str]) -> bool:
    """A plain language model folder (config.json without a vision tower), loaded without a base."""
    if model_base is not None:
        return False
    contents = inspect_checkpoint(model_path)
    return contents.config is not None and not contents.multimodal


def load_language_model(model_path, device: str = "cpu", dtype: Optional[str] = None):
    """A text-only causal LM + slow tokenizer, shaped like LoadedModel (image_processor None)."""
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_path), use_fast=False)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.unk_token
    extra = {"torch_dtype": getattr(torch, dtype)} if dtype else {}
    # a pickle in a pytorch_model*.bin is refused by safe_load.read, naming the file, and never runs
    with host_loads_read_safely():
        model = transformers.AutoModelForCausalLM.from_pretrained(str(model_path), **extra).to(device)
    model.eval()
    return LoadedModel(tokenizer, model, None, getattr(tokenizer, "model_max_length", 2048), "language-model")


def general_loss(loaded, records: Sequence[Dict[str, Any]], load_image: Callable[[Dict[str, Any]], Any],
                 conv_mode: str = "v1", batch_size: int = 4, progress=None) -> Dict[str, Any]:
    """`load_image(record)` gives the PIL image of a record that has one (called only for models
    with a vision tower). Returns token-weighted mean loss, perplexity = exp(mean loss), counts."""
    from socialfusion_plugin.host.llava.training.install import install_train_hooks

    train_module = install_train_hooks()  # LLaVA's preprocess, with the tokenization-mismatch guard
    vision = loaded.image_processor is not None
    total_nll, total_tokens, used, skipped = 0.0, 0, [], 0
    instances: List[Dict[str, Any]] = []
    with conversation_template(conv_mode):
        for record in records:
            if "image" in record and not vision:
                skipped += 1
                continue
            image = load_image(record) if "image" in record else None
            instances.append(_instance(train_module, loaded, record, image))
            used.append(str(record["id"]))
    text_only = [i for i in instances if "image" not in i]
    with_image = [i for i in instances if "image" in i]
    model = loaded.model
    with torch.inference_mode(), padding_side(model, "right"):
        for group in (text_only, with_image):
            for start in range(0, len(group), batch_size):
                nll, tokens = _batch_nll(model, loaded.tokenizer, group[start: start + batch_size])
                total_nll += nll
                total_tokens += tokens
                if progress is not None:
                    progress.update(len(group[start: start + batch_size]))
    mean = total_nll / total_tokens if total_tokens else None
    return {"samples": len(used), "skipped_image_samples": skipped, "tokens": total_tokens, "mean_loss": mean,
            "perplexity": math.exp(mean) if mean is not None else None, "sample_ids": used}


def _instance(train_module, loaded, record, image) -> Dict[str, Any]:
    instance: Dict[str, Any] = {}
    if image is not None:
        from llava.mm_utils import process_images

        instance["image"] = process_images([image], loaded.image_processor, loaded.model.config)[0]
        instance["image_size"] = image.size
    instance["input_ids"], instance["labels"] = preprocess_record(
        train_module, loaded.tokenizer, record["conversations"], has_image=image is not None)
    return instance


def _batch_nll(model, tokenizer, batch):
    pad = torch.nn.utils.rnn.pad_sequence
    ids = pad([i["input_ids"] for i in batch], batch_first=True, padding_value=pad_id(tokenizer))
    labels = pad([i["labels"] for i in batch], batch_first=True, padding_value=IGNORE_INDEX)
    mask = pad([torch.ones(len(i["input_ids"]), dtype=torch.bool) for i in batch], batch_first=True)
    ids, labels, mask = ids.to(model.device), labels.to(model.device), mask.to(model.device)
    if "image" in batch[0]:
        pixels = torch.stack([i["image"] for i in batch]).to(device=model.device, dtype=model.dtype)
        _, positions, mask, _, embeds, labels = model.prepare_inputs_labels_for_multimodal(
            ids, None, mask, None, labels, pixels, image_sizes=[i["image_size"] for i in batch])
        logits = model(inputs_embeds=embeds, attention_mask=mask, return_dict=True).logits
    else:
        logits = model(input_ids=ids, attention_mask=mask, return_dict=True).logits
    shifted = logits[:, :-1, :].float()
    targets = labels[:, 1:]
    nll = torch.nn.functional.cross_entropy(shifted.reshape(-1, shifted.shape[-1]), targets.reshape(-1),
                                            ignore_index=IGNORE_INDEX, reduction="sum")
    return float(nll), int((targets != IGNORE_INDEX).sum())
