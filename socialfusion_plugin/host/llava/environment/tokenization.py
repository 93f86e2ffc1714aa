"""LLaVA's "tokenization mismatch" turned into an error that says what is wrong.

When the conversation template (`--version`) and the tokenizer disagree on how a conversation
splits into tokens, LLaVA's preprocess_* functions print "WARNING: tokenization mismatch" and mask
EVERY label of the sample: the loss drops to ~0 and nothing is learned, silently. The functions
call the module-global `print`, so a `print` placed in that module's namespace sees exactly this
event and raises instead.
"""
from __future__ import annotations

import builtins
import functools

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
    preview = ""
    try:
        first_turn = sources[0][0]["value"]
        preview = first_turn[:120].replace("\n", " ")
    except (IndexError, KeyError, TypeError):
        pass
    tokenizer_name = type(tokenizer).__name__
    legacy = getattr(tokenizer, "legacy", None)
    return (
        f"{detail}: LLaVA could not align labels with tokens, so this sample would train on nothing. "
        f"The conversation template (version {template.version!r}, separator style "
        f"{template.sep_style.name}) does not fit the tokenizer {tokenizer_name} (legacy={legacy}) of "
        "--model_name_or_path. Pass the --version your base model was trained with (Vicuna-1.5 / "
        "LLaVA-1.5: --version v1, with LLaMA's slow tokenizer, legacy=True). "
        f"Sample starts: {preview!r}"
    )


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
