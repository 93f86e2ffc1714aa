"""Tokenization checks for `socialfusion validate --model PATH --version V`: run LLaVA's own
preprocessing (the function training uses) on each record with the chosen tokenizer and template.

- "labels fully masked": LLaVA's "tokenization mismatch" (template and tokenizer disagree, or the
  sample was truncated) masks every label, and the sample trains on nothing; the guard in
  tokenization.py turns it into TokenizationMismatchError, caught here per sample.
- "longer than model_max_length": tokens with each <image> expanded to the tower's patch count.
  LLaVA truncates such samples, cutting the answer off (or triggering the mismatch above).
Workers are forked processes that share the loaded tokenizer and the memory-mapped mixture.
"""
from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import List, Tuple

from socialfusion_plugin.data.validate import LABELS_MASKED, TOO_LONG
from socialfusion_plugin.errors import UserInputError
from socialfusion_plugin.host.llava.environment.tokenization import (TokenizationMismatchError, conversation_template,
                                                                     preprocess_record)
from socialfusion_plugin.host.llava.training.install import install_train_hooks
from socialfusion_plugin.progress import progress_bar

_UNLIMITED = 10 ** 9


class LabelChecker:
    """A `validate_mixture(label_check=...)` callable; loads the tokenizer when built, so a wrong --model
    fails before any image is checked."""

    def __init__(self, model_path, version: str, model_max_length: int, image_tokens: int, mm_use_im_start_end: bool):
        import transformers

        if model_max_length <= 0 or image_tokens <= 0:
            raise UserInputError("model_max_length and image_tokens must be positive")
        if not Path(model_path).is_dir():
            raise FileNotFoundError(f"--model {model_path}: not a folder with a tokenizer "
                                    "(the base LLM of the run, e.g. /models/vicuna-7b-v1.5)")
        self.version, self.model_max_length, self.image_tokens = version, model_max_length, image_tokens
        self.mm_use_im_start_end = mm_use_im_start_end
        self.train_module = install_train_hooks()  # includes the mismatch guard on LLaVA's preprocess
        conversation_lib = self.train_module.conversation_lib
        if version not in conversation_lib.conv_templates:
            raise UserInputError(f"--version {version!r} is not a LLaVA conversation template; known: "
                                 f"{', '.join(sorted(conversation_lib.conv_templates))}")
        # as train(): the tokenizer LLaVA builds, then the template chosen by --version
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(
            model_path, model_max_length=_UNLIMITED, padding_side="right", use_fast=False)
        if version != "v0":
            self.tokenizer.pad_token = self.tokenizer.unk_token

    def check(self, record) -> List[Tuple[str, str]]:
        from llava.constants import IGNORE_INDEX, IMAGE_TOKEN_INDEX

        has_image = "image" in record
        try:
            # the template is set for this call only: checking changes nothing else in this process
            with conversation_template(self.version):
                input_ids, labels = preprocess_record(self.train_module, self.tokenizer, record["conversations"],
                                                      has_image, self.mm_use_im_start_end)
        except TokenizationMismatchError as err:
            return [(LABELS_MASKED, str(err).split(": LLaVA could not")[0] +
                     f" (template --version {self.version}, tokenizer {type(self.tokenizer).__name__})")]
        findings = []
        if int((labels != IGNORE_INDEX).sum()) == 0:
            findings.append((LABELS_MASKED, "no answer token is trained: every label is masked"))
        images = int((input_ids == IMAGE_TOKEN_INDEX).sum())
        length = len(input_ids) + images * (self.image_tokens - 1)
        if length > self.model_max_length:
            findings.append((TOO_LONG, f"{length} tokens ({images} image x {self.image_tokens}) > "
                                       f"model_max_length {self.model_max_length}; LLaVA truncates it"))
        return findings

    def __call__(self, mixture, indices: List[int], workers: int, progress: bool) -> List[Tuple[int, str, str]]:
        _WORKER_STATE.update(checker=self, mixture=mixture)
        chunks = [indices[start:start + 256] for start in range(0, len(indices), 256)]
        bar = progress_bar(enabled=progress, total=len(indices), description="check tokenization", unit=" records")
        found: List[Tuple[int, str, str]] = []
        try:
            if workers > 1 and len(chunks) > 1 and "fork" in multiprocessing.get_all_start_methods():
                # fork: children share the tokenizer and the memory-mapped records without pickling them
                with multiprocessing.get_context("fork").Pool(min(workers, len(chunks))) as pool:
                    for part, chunk in zip(pool.imap(_check_chunk, chunks), chunks):
                        found.extend(part)
                        bar.update(len(chunk))
            else:
                for chunk in chunks:
                    found.extend(_check_chunk(chunk))
                    bar.update(len(chunk))
        finally:
            bar.close()
            _WORKER_STATE.clear()
        return found


_WORKER_STATE = {}


def _check_chunk(indices: List[int]) -> List[Tuple[int, str, str]]:
    checker, mixture = _WORKER_STATE["checker"], _WORKER_STATE["mixture"]
    return [(index, kind, detail) for index in indices for kind, detail in checker.check(mixture.record(index))]
