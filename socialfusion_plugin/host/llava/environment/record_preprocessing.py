"""One LLaVA record -> (input_ids, labels), with LLaVA's own `preprocess` exactly as training runs it.

LLaVA's `preprocess` reads the conversation template from a module global
(`conversation.default_conversation`). Every caller here (training batches for diagnostics, the
forgetting check's loss, `validate --model`'s label check) sets it only for the call
(`conversation_template`) and puts the previous one back, so nothing in the process has its
template changed behind its back.
"""
from __future__ import annotations

import copy
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, Dict, Sequence, Tuple

from socialfusion_plugin.errors import UserInputError


def template_of(conversation_lib, conv_mode: str):
    if conv_mode not in conversation_lib.conv_templates:
        raise UserInputError(f"unknown conversation template {conv_mode!r}; known: "
                             f"{', '.join(sorted(conversation_lib.conv_templates))}")
    return conversation_lib.conv_templates[conv_mode]


@contextmanager
def conversation_template(conv_mode: str):
    """Within: LLaVA's default conversation is `conv_templates[conv_mode]`; restored afterwards."""
    from llava import conversation as conversation_lib

    template = template_of(conversation_lib, conv_mode)
    before = conversation_lib.default_conversation
    conversation_lib.default_conversation = template
    try:
        yield template
    finally:
        conversation_lib.default_conversation = before


def preprocess_record(train_module, tokenizer, conversations: Sequence[Dict[str, Any]], has_image: bool,
                      mm_use_im_start_end: bool = False) -> Tuple[Any, Any]:
    """(input_ids, labels) of one record's conversation, as LLaVA's dataset makes them (the image
    token moved first, on its own line, when the record has an image). Call it inside
    `conversation_template`. LLaVA's tokenization-mismatch guard raises as installed."""
    sources = [copy.deepcopy(list(conversations))]
    if has_image:
        data_args = SimpleNamespace(is_multimodal=True, mm_use_im_start_end=mm_use_im_start_end)
        sources = train_module.preprocess_multimodal(sources, data_args)
    processed = train_module.preprocess(sources, tokenizer, has_image=has_image)
    return processed["input_ids"][0], processed["labels"][0]
