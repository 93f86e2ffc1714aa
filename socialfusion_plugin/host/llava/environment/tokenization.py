"""LLaVA's own `preprocess` of a record into (input_ids, labels), and its "tokenization mismatch"
turned into an error that says what is wrong.

When the conversation template (`--version`) and the tokenizer disagree on how a conversation
splits into tokens, LLaVA's preprocess_* functions print "WARNING: tokenization mismatch" and mask
EVERY label of the sample: the loss drops to ~0 and nothing is learned, silently. The functions
call the module-global `print`, so a `print` placed in that module's namespace sees exactly this
event and raises instead.

LLaVA's `preprocess` reads the conversation template from a module global
(`conversation.default_conversation`). Every caller here (training batches for diagnostics, the
forgetting check's loss, `validate --model`'s label check) sets it only for the call
(`conversation_template`) and puts the previous one back, so nothing in the process has its
template changed behind its back.
"""
from __future__ import annotations

import builtins
import copy
import functools
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, Dict, Sequence, Tuple

from socialfusion_plugin.errors import UserInputError
from socialfusion_plugin.host.llava.environment.host_loads import swapped

MISMATCH_PREFIX = "WARNING: tokenization mismatch"


class TokenizationMismatchError(RuntimeError):
    """Template and tokenizer disagree: every label of the sample would be masked."""


def guarded_print(*args, **kwargs):
    text = " ".join(str(arg) for arg in args)
    if text.startswith(MISMATCH_PREFIX):
        raise TokenizationMismatchError(text[len("WARNING: "):].replace(" (ignored)", ""))
    return builtins.print(*args, **kwargs)


def describe_mismatch(detail: str, conversation_lib, tokenizer, sources) -> str:
    template = conversation_lib.default_conversation
    try:
        preview = sources[0][0]["value"][:120].replace("\n", " ")  # the sample's first turn
    except (IndexError, KeyError, TypeError):
        preview = ""
    return (f"{detail}: LLaVA could not align labels with tokens, so this sample would train on nothing. The "
            f"conversation template (version {template.version!r}, separator style {template.sep_style.name}) does "
            f"not fit the tokenizer {type(tokenizer).__name__} (legacy={getattr(tokenizer, 'legacy', None)}) of "
            "--model_name_or_path. Pass the --version your base model was trained with (Vicuna-1.5 / LLaVA-1.5: "
            f"--version v1, with LLaMA's slow tokenizer, legacy=True). Sample starts: {preview!r}")


def wrap_preprocess(original, conversation_lib):
    @functools.wraps(original)
    def preprocess(sources, tokenizer, has_image: bool = False):
        try:
            return original(sources, tokenizer, has_image=has_image)
        except TokenizationMismatchError as err:
            raise TokenizationMismatchError(describe_mismatch(str(err), conversation_lib, tokenizer, sources)) from None

    preprocess.socialfusion_original = original
    return preprocess


def install_mismatch_guard(train_module) -> None:
    train_module.print = guarded_print
    if not hasattr(train_module.preprocess, "socialfusion_original"):
        train_module.preprocess = wrap_preprocess(train_module.preprocess, train_module.conversation_lib)


def template_named(conv_mode: str):
    """LLaVA's `conv_templates[conv_mode]` (shared: copy it before appending messages)."""
    from llava.conversation import conv_templates

    if conv_mode not in conv_templates:
        raise UserInputError(f"unknown conversation template {conv_mode!r}; known: {', '.join(sorted(conv_templates))}")
    return conv_templates[conv_mode]


@contextmanager
def conversation_template(conv_mode: str):
    """Within: LLaVA's default conversation is `conv_templates[conv_mode]`; restored afterwards."""
    from llava import conversation as conversation_lib

    template = template_named(conv_mode)
    with swapped(vars(conversation_lib), "default_conversation", template):
        yield template


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
