"""Prompt wordings are data: each task has a `prompts.yaml` next to its module.

    train:            # paraphrases; one is chosen per sample from (seed, sample id)
      - "Which gesture is shown in the picture? ..."
    eval: "Which gesture ..."   # one fixed wording for evaluation

Templates use `{name}` fields filled from `Sample.prompt_fields`; the `<image>` token is added by
the conversation builder, never written in the file.
"""
from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping

from ..config_files import read_yaml_mapping
from ..errors import UserInputError

PROMPT_MODES = ("train", "eval")


class PromptFileError(UserInputError):
    """A task's prompts.yaml is malformed."""


@dataclass(frozen=True)
class PromptSet:
    train: tuple
    eval: str
    source: str

    @classmethod
    def load(cls, path: Path) -> "PromptSet":
        data = read_yaml_mapping(path, "prompt file", PROMPT_MODES, PromptFileError)
        train, evaluation = data.get("train"), data.get("eval")
        if not isinstance(train, list) or not train or not all(isinstance(t, str) and t.strip() for t in train):
            raise PromptFileError(f"{path}: 'train' must be a non-empty list of non-empty strings")
        if not isinstance(evaluation, str) or not evaluation.strip():
            raise PromptFileError(f"{path}: 'eval' must be a non-empty string")
        for template in list(train) + [evaluation]:
            if "<image>" in template:
                raise PromptFileError(f"{path}: templates must not contain <image>; it is added for you")
        return cls(train=tuple(t.strip() for t in train), eval=evaluation.strip(), source=str(path))

    def fields(self) -> List[str]:
        names = set()
        for template in self.train + (self.eval,):
            names.update(f for _, f, _, _ in string.Formatter().parse(template) if f)
        return sorted(names)

    def render(self, mode: str, sample_id: str, seed: int, fields: Mapping[str, str]) -> str:
        """The sample's prompt. Its template is fixed in eval mode; in train mode it is picked from a
        hash of (seed, sample id), so the choice does not depend on record order or process."""
        if mode == "eval":
            template = self.eval
        elif mode == "train":
            digest = hashlib.sha256(f"{seed}:{sample_id}".encode()).digest()
            template = self.train[int.from_bytes(digest[:8], "big") % len(self.train)]
        else:
            raise UserInputError(f"prompt mode must be one of {PROMPT_MODES}, got {mode!r}")
        try:
            return template.format(**fields)
        except KeyError as missing:
            raise PromptFileError(
                f"{self.source}: template uses field {missing} that the task does not provide "
                f"(provided: {', '.join(sorted(fields)) or 'none'})"
            ) from None


_CACHE: Dict[str, PromptSet] = {}


def load_prompts(path: Path) -> PromptSet:
    key = str(Path(path).resolve())
    if key not in _CACHE:
        _CACHE[key] = PromptSet.load(path)
    return _CACHE[key]
