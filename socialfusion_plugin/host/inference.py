"""Answering one question about one image with a loaded LLaVA model (greedy by default)."""
from __future__ import annotations

from typing import Optional
from socialfusion_plugin.errors import UserInputError


def answer_question(loaded, image, question: str, conv_mode: str = "v1", max_new_tokens: int = 32,
                    temperature: float = 0.0) -> str:
    """`image` is a PIL image; `question` has no <image> token (it is added here)."""
    import torch
    from llava.constants import DEFAULT_IMAGE_TOKEN, IMAGE_TOKEN_INDEX
    from llava.conversation import conv_templates
    from llava.mm_utils import process_images, tokenizer_image_token

    if conv_mode not in conv_templates:
        raise UserInputError(f"unknown conversation template {conv_mode!r}; known: {', '.join(sorted(conv_templates))}")
    conv = conv_templates[conv_mode].copy()
    conv.append_message(conv.roles[0], f"{DEFAULT_IMAGE_TOKEN}\n{question}")
    conv.append_message(conv.roles[1], None)
    prompt = conv.get_prompt()
    model = loaded.model
    input_ids = tokenizer_image_token(prompt, loaded.tokenizer, IMAGE_TOKEN_INDEX, return_tensors="pt").unsqueeze(0)
    images = process_images([image], loaded.image_processor, model.config).to(device=model.device, dtype=model.dtype)
    generation = dict(do_sample=temperature > 0, max_new_tokens=max_new_tokens, use_cache=True,
                      pad_token_id=loaded.tokenizer.pad_token_id or loaded.tokenizer.unk_token_id)
    if temperature > 0:
        generation["temperature"] = temperature
    with torch.inference_mode():
        output = model.generate(input_ids.to(model.device), images=images, image_sizes=[image.size], **generation)
    return loaded.tokenizer.batch_decode(output, skip_special_tokens=True)[0].strip()


def first_line(text: Optional[str]) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""
