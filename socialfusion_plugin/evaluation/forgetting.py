"""The forgetting check: does social training cost general ability? Loss and perplexity on held-out
general instruction samples, for the base model and for the trained checkpoint, compared on the
SAME samples (the files record a hash of the sample ids; a mismatch is reported, not hidden)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Dict, Optional
from socialfusion_plugin.errors import UserInputError

MEASURED = ("samples", "skipped_image_samples", "tokens", "mean_loss", "perplexity")
COMPARED = ("model_path", "samples", "tokens", "mean_loss", "perplexity")


def loss_record(result: Dict[str, Any], model_path: str, model_base: Optional[str], data: Path) -> Dict[str, Any]:
    """What `eval --mode loss` writes: the measurement plus where it came from."""
    digest = hashlib.sha256("\n".join(sorted(result["sample_ids"])).encode("utf-8")).hexdigest()
    return {"mode": "loss", "model_path": str(model_path), "model_base": model_base, "data": str(data),
            **{key: result[key] for key in MEASURED}, "sample_ids_sha256": digest}


def read_loss(path: Path) -> Dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"loss file {path} not found")
    data = json.loads(path.read_text(encoding="utf-8"))
    for key in ("mean_loss", "perplexity", "tokens", "sample_ids_sha256"):
        if key not in data:
            raise UserInputError(f"{path}: not a `socialfusion eval --mode loss` output (no {key!r})")
    return data


def compare(base: Dict[str, Any], trained: Dict[str, Any]) -> Dict[str, Any]:
    """delta_loss > 0 means the trained model fits general data worse (forgetting)."""
    same = base["sample_ids_sha256"] == trained["sample_ids_sha256"]
    result: Dict[str, Any] = {
        "base": {k: base[k] for k in COMPARED if k in base},
        "trained": {k: trained[k] for k in COMPARED if k in trained},
        "same_samples": same, "delta_loss": None, "perplexity_ratio": None,
    }
    if base["mean_loss"] is not None and trained["mean_loss"] is not None:
        result["delta_loss"] = trained["mean_loss"] - base["mean_loss"]
        result["perplexity_ratio"] = trained["perplexity"] / base["perplexity"]
    if not same:
        result["warning"] = ("the two measurements cover different samples (e.g. a text-only base model skips "
                             "image samples): evaluate both with --text-only for a like-for-like comparison")
    return result
