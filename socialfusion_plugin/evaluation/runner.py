"""The prediction loop of `eval` and `eval-suite`: records -> batches -> predictions lines,
resumable, with a progress bar.

The model calls arrive as callables (built in `socialfusion_plugin.host`), so this loop is plain
Python that tests can drive with a fake model too:
- generate(questions, images) -> [answer text]
- rank(questions, images) -> [{label: summed log-likelihood}]
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from ..progress import progress_bar
from ..run_settings import RunSettings
from .prediction_file import append_predictions, read_done_ids
from .rank_policy import RankPolicy
from .records import image_path, open_image, question_of
from socialfusion_plugin.errors import UserInputError

MODES = ("generate", "rank")


@dataclass(frozen=True)
class DecodingSettings(RunSettings):
    """How the model answers, on top of where it runs, the same for `eval` and for every task of
    `eval-suite`; both commands' flags are made from these fields, their defaults and help
    (cli/flags.py)."""

    max_new_tokens: int = field(default=32, metadata={"help": "longest answer generated, in tokens (default 32)"})
    temperature: float = field(default=0.0, metadata={"help": "0 = greedy (default)"})
    conv_mode: str = field(default="v1", metadata={"help": "LLaVA conversation template used in training"})
    multi_label_threshold: float = field(default=0.1, metadata={
        "help": "rank, multi-label tasks: predict every label with probability >= this (plus the best)"})

    def __post_init__(self):
        super().__post_init__()
        if int(self.max_new_tokens) < 1:
            raise UserInputError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise UserInputError(f"temperature must be >= 0, got {self.temperature}")


def decoding_values(source) -> Dict[str, Any]:
    """The fields of DecodingSettings, where the model runs included, in `source` (settings that extend
    DecodingSettings, or parsed flags)."""
    return {f.name: getattr(source, f.name) for f in fields(DecodingSettings)}


@dataclass(frozen=True)
class EvalSettings(DecodingSettings):
    mode: str = "generate"
    limit: Optional[int] = None  # evaluate only the first N records (smoke runs)

    def __post_init__(self):
        super().__post_init__()
        if self.mode not in MODES:
            raise UserInputError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.limit is not None and self.limit < 1:
            raise UserInputError(f"limit must be >= 1, got {self.limit}")


@dataclass
class EvalSummary:
    total: int
    already_done: int
    written: int
    dropped_truncated_line: bool


def run_eval(records: Sequence[Dict], data_file: Path, image_folder: Optional[Path], out: Path,
             settings: EvalSettings, generate: Optional[Callable] = None, rank: Optional[Callable] = None,
             policy: Optional[RankPolicy] = None, progress: bool = True) -> EvalSummary:
    if settings.mode == "rank" and (rank is None or policy is None):
        raise UserInputError("rank mode needs a rank function and a rank policy")
    if (settings.mode == "generate" or (policy is not None and policy.text_from_generation)) and generate is None:
        raise UserInputError("this evaluation needs a generate function")
    chosen = list(records)[: settings.limit] if settings.limit else list(records)
    done, truncated = read_done_ids(out)
    todo = [r for r in chosen if str(r["id"]) not in done]
    where = str(data_file)
    written = 0
    with progress_bar(enabled=progress, total=len(todo), description=f"eval {settings.mode}", unit=" samples") as bar:
        for start in range(0, len(todo), settings.batch_size):
            batch = todo[start: start + settings.batch_size]
            questions = [question_of(r, where) for r in batch]
            images = [open_image(image_path(r, image_folder, where), f"{where} record {r['id']!r}") for r in batch]
            written += append_predictions(out, _predict(batch, questions, images, settings, generate, rank, policy))
            bar.update(len(batch))
    return EvalSummary(total=len(chosen), already_done=len(chosen) - len(todo), written=written,
                       dropped_truncated_line=truncated)


def _predict(batch, questions, images, settings, generate, rank, policy) -> List[Dict]:
    texts = None
    if settings.mode == "generate" or policy.text_from_generation:
        texts = generate(questions, images)
        if len(texts) != len(batch):
            raise RuntimeError(f"generation returned {len(texts)} answers for {len(batch)} questions")
    if settings.mode == "generate":
        return [{"id": r["id"], "text": t} for r, t in zip(batch, texts)]
    return [{"id": record["id"], **policy.prediction(scores, texts[index] if texts is not None else None)}
            for index, (record, scores) in enumerate(zip(batch, rank(questions, images)))]
