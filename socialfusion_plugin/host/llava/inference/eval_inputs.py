"""Prompts, token ids and image tensors for evaluation, built with LLaVA's own helpers so the model
sees exactly what training showed it (conversation template, image token, image preprocessing)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import List, Optional, Sequence, Tuple

from socialfusion_plugin.errors import UserInputError
from socialfusion_plugin.host.llava.environment.host_loads import swapped
from socialfusion_plugin.host.llava.environment.tokenization import template_named

IMAGE_PLACEHOLDER = "<image>"


def prompt_text(question: str, conv_mode: str, answer: Optional[str] = None, has_image: bool = True) -> str:
    """The full prompt up to the assistant's turn; with `answer`, including it and its separator."""
    conv = template_named(conv_mode).copy()
    # as LLaVA's preprocess_multimodal does in training: the image token first, on its own line
    text = question.replace(IMAGE_PLACEHOLDER, "").strip()
    conv.append_message(conv.roles[0], f"{IMAGE_PLACEHOLDER}\n{text}" if has_image else text)
    conv.append_message(conv.roles[1], answer)
    return conv.get_prompt()


def prompt_ids(tokenizer, text: str) -> List[int]:
    from llava.constants import IMAGE_TOKEN_INDEX
    from llava.mm_utils import tokenizer_image_token

    return list(tokenizer_image_token(text, tokenizer, IMAGE_TOKEN_INDEX))


def pad_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.unk_token_id


def left_padded_prompts(loaded, questions: Sequence[str], images: Sequence, conv_mode: str):
    """(ids, attention mask, pixels, image sizes) of the prompts of (question, PIL image) pairs, every
    prompt pushed to the right edge: batched generation and ranking read the next token at the last column."""
    import torch

    if len(questions) != len(images):
        raise UserInputError(f"{len(questions)} questions but {len(images)} images")
    sequences = [prompt_ids(loaded.tokenizer, prompt_text(question, conv_mode)) for question in questions]
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id(loaded.tokenizer), dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        if sequence:
            ids[row, width - len(sequence):] = torch.tensor(sequence, dtype=torch.long)
            mask[row, width - len(sequence):] = 1
    return (ids, mask, *image_batch(loaded, images))


def image_batch(loaded, images) -> Tuple[object, List[tuple]]:
    """(pixel tensor on the model's device and dtype, image sizes) via LLaVA's process_images,
    which applies the checkpoint's image_aspect_ratio (square / pad / anyres) like training."""
    from llava.mm_utils import process_images

    model = loaded.model
    with pillow_check_answered_once():
        pixels = process_images(list(images), loaded.image_processor, model.config)
    on_model = dict(device=model.device, dtype=model.dtype)
    pixels = [p.to(**on_model) for p in pixels] if isinstance(pixels, list) else pixels.to(**on_model)
    return pixels, [image.size for image in images]


@contextmanager
def pillow_check_answered_once():
    """Within: transformers' `is_vision_available()` answers from one lookup. transformers 4.37 asks
    it several times per image (is_valid_image, to_numpy_array, every `requires_backends` of the
    resize/rescale helpers), and each time reads Pillow's package metadata from disk: about 70% of
    CLIP preprocessing on a CPU. The answer cannot change while the process runs, so the images come
    out identical. Both names the image path reads are swapped and put back, so nothing outside this
    block (LLaVA's own scripts included) sees a change; a transformers without them is left alone."""
    try:
        from transformers import image_utils
        from transformers.utils import import_utils
    except ImportError:
        yield
        return
    original = getattr(import_utils, "is_vision_available", None)
    backends = getattr(import_utils, "BACKENDS_MAPPING", None)
    entry = backends.get("vision") if isinstance(backends, dict) else None
    if original is None or getattr(image_utils, "is_vision_available", None) is not original or entry is None:
        yield
        return
    answer = original()

    def answered() -> bool:
        return answer

    with swapped(vars(image_utils), "is_vision_available", answered), \
            swapped(backends, "vision", (answered, *entry[1:])):
        yield


@contextmanager
def padding_side(model, side: str):
    """LLaVA re-pads the multimodal embeddings on the side named by config.tokenizer_padding_side
    (training checkpoints say "right"); batched generation needs "left" so every row ends at its
    last prompt token. Restored afterwards."""
    before = getattr(model.config, "tokenizer_padding_side", "right")
    model.config.tokenizer_padding_side = side
    try:
        yield
    finally:
        model.config.tokenizer_padding_side = before
