"""Batched generation with LLaVA models: left padding, one forward pass per batch.

LLaVA's `generate()` drops the padding with the attention mask, splices the image features in, and
pads again on the side named by `config.tokenizer_padding_side`; with "left" every row ends at its
last prompt token, so the next token is read at the same column for the whole batch and the answer
does not depend on the batch size (beyond float noise).
"""
from __future__ import annotations

from typing import List, Sequence

from socialfusion_plugin.host.llava.environment.tokenization import template_named
from socialfusion_plugin.host.llava.inference.eval_inputs import left_padded_prompts, pad_id, padding_side


def generate_answers(loaded, questions: Sequence[str], images: Sequence, conv_mode: str = "v1",
                     max_new_tokens: int = 32, temperature: float = 0.0, seed: int = 0) -> List[str]:
    """One answer per (question, PIL image). Greedy when temperature == 0; otherwise sampled with
    a generator seeded by `seed` (sampled answers then depend on how samples are batched)."""
    import torch

    if not (questions or images):
        return []
    tokenizer, model = loaded.tokenizer, loaded.model
    ids, mask, pixels, sizes = left_padded_prompts(loaded, questions, images, conv_mode)
    settings = dict(do_sample=temperature > 0, max_new_tokens=max_new_tokens, use_cache=True,
                    pad_token_id=pad_id(tokenizer), eos_token_id=tokenizer.eos_token_id)
    if temperature > 0:
        settings.update(temperature=temperature, top_p=None)
        torch.manual_seed(seed)
    with torch.inference_mode(), padding_side(model, "left"):
        output = model.generate(ids.to(model.device), attention_mask=mask.to(model.device), images=pixels,
                                image_sizes=sizes, **settings)
    # With images LLaVA generates from inputs_embeds, so `output` holds only the new tokens.
    texts = tokenizer.batch_decode(output, skip_special_tokens=True)
    template = template_named(conv_mode)
    stop = (template.sep2 or template.sep or "").strip()
    return [(text[:text.index(stop)] if stop and stop in text else text).strip() for text in texts]


def answer_question(loaded, image, question: str, conv_mode: str = "v1", max_new_tokens: int = 32,
                    temperature: float = 0.0, seed: int = 0) -> str:
    """One answer from a batch of one, so a single answer and a batch's answers come from the same
    code. `image` is a PIL image; `question` has no <image> token (the prompt puts it first)."""
    return generate_answers(loaded, [question], [image], conv_mode=conv_mode, max_new_tokens=max_new_tokens,
                            temperature=temperature, seed=seed)[0]
