"""Finds a label in free model text: the longest known phrase wins (so "two up inverted" is never
read as "two up"), and among equally long phrases the earliest one, since answers lead with it."""
from __future__ import annotations

import re
from typing import Iterable, Mapping, Optional, Tuple

from ..config_files import read_yaml_mapping
from .base import AnswerDataError

_SEPARATORS = re.compile(r"[_\-]+")
_LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def normalize(text: str) -> str:
    """Lowercase words separated by single spaces: "Two-Up_Inverted!" -> "two up inverted",
    "three2" -> "three 2", so spellings with spaces, hyphens or underscores all meet."""
    lowered = _SEPARATORS.sub(" ", text.lower())
    lowered = _LETTER_DIGIT.sub(" ", lowered)
    return " ".join(_NOT_WORD.sub(" ", lowered).split())


class PhraseMatcher:
    def __init__(self, phrases: Mapping[str, str], fillers: Iterable[str] = ()):
        """`phrases`: phrase -> label. `fillers`: phrases removed before matching because they
        contain a label word without naming it ("looks like" is not the gesture "like")."""
        table = {normalize(phrase): label for phrase, label in phrases.items()}
        table.pop("", None)  # a phrase of punctuation only matches nothing
        self._phrases: Tuple[Tuple[str, str], ...] = tuple(
            sorted(((f" {p} ", l) for p, l in table.items()), key=lambda item: -len(item[0]))
        )
        self._fillers = tuple(f" {normalize(f)} " for f in fillers if normalize(f))

    def match(self, text: object) -> Optional[str]:
        if not isinstance(text, str):
            return None
        padded = f" {normalize(text)} "
        for filler in self._fillers:
            while filler in padded:
                padded = padded.replace(filler, " ")
        best: Optional[Tuple[Tuple[int, int], str]] = None
        for phrase, label in self._phrases:
            if best is not None and len(phrase) < -best[0][0]:
                break  # phrases are sorted longest first: nothing shorter can win any more
            position = padded.find(phrase)
            if position < 0:
                continue
            key = (-len(phrase), position)
            if best is None or key < best[0]:
                best = (key, label)
        return best[1] if best else None


def load_synonym_matcher(path, labels: Iterable[str], kind: str) -> PhraseMatcher:
    """A matcher from a task's `synonyms.yaml`:

        labels:  {<canonical label>: [<phrase>, ...]}   # each label also matches its own name
        fillers: [<phrase>, ...]                        # optional, removed before matching
    """
    labels = tuple(labels)
    try:
        data = read_yaml_mapping(path, f"{kind} synonyms file", ("labels", "fillers"), AnswerDataError)
    except OSError as err:  # scoring stops on an AnswerDataError naming the file, not on a traceback
        raise AnswerDataError(f"{path}: the {kind} synonyms file cannot be read ({err})") from None
    table = data.get("labels") or {}
    fillers = data.get("fillers") or []
    if not isinstance(table, dict) or not isinstance(fillers, list):
        raise AnswerDataError(f"{path}: 'labels' must map a {kind} to a list of phrases and 'fillers' be a list")
    phrases = {label: label for label in labels}
    for label, synonyms in table.items():
        if label not in labels:
            raise AnswerDataError(f"{path}: unknown {kind} {label!r}")
        if not isinstance(synonyms, (list, type(None))):
            raise AnswerDataError(f"{path}: the phrases of {kind} {label!r} must be a list")
        for phrase in synonyms or ():
            phrases[str(phrase)] = label
    return PhraseMatcher(phrases, fillers=[str(f) for f in fillers])


class SynonymParser:
    """A task's answer parser: the label named in free text, from its `synonyms.yaml` (read on first
    use, so a broken file does not stop commands that never parse answers). Any text gives a label
    or None; a broken synonyms file raises AnswerDataError naming it, instead of reading every
    answer as unparsed."""

    def __init__(self, path, labels: Iterable[str], kind: str):
        self.path, self.labels, self.kind = path, tuple(labels), kind
        self._matcher: Optional[PhraseMatcher] = None

    def __call__(self, text: object) -> Optional[str]:
        if self._matcher is None:
            self._matcher = load_synonym_matcher(self.path, self.labels, self.kind)
        return self._matcher.match(text)
