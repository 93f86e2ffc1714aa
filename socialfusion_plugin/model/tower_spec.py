"""The `--vision_tower` name scheme for frozen open_clip towers, `open_clip:<ARCH>@<WEIGHTS>`, and
where their weights come from (docs/training.md, "The frozen vision tower", lists the forms).

ARCH is an open_clip architecture name or the path of an architecture JSON in open_clip's format
(registered under its file stem); WEIGHTS a pretrained tag, resolved from local caches only and
never downloaded at run time, or the path of a local checkpoint file. The same string is stored as
`mm_vision_tower` in the trained model's config.json, so LLaVA's loader rebuilds the same tower at
inference: the weights must be resolvable there too.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

from ..errors import UserInputError

PREFIX = "open_clip"
_REGISTERED_FILES: Dict[str, str] = {}  # architecture name -> the custom JSON that registered it here
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors")


def is_open_clip_tower(value) -> bool:
    """Whether a tower/encoder string is `open_clip:...` (the one test of the prefix)."""
    return isinstance(value, str) and value.startswith(PREFIX + ":")


class VisionTowerSpecError(UserInputError):
    """A malformed --vision_tower value."""


class VisionWeightsNotFound(FileNotFoundError):
    """The tower's weights are not on this machine; the message says what to download and where."""


@dataclass(frozen=True)
class OpenClipTowerSpec:
    architecture: str  # open_clip model name (for a custom JSON: its file stem)
    architecture_file: Optional[str]  # path of a custom architecture JSON, if any
    weights: str  # pretrained tag or local checkpoint path

    @property
    def weights_is_file(self) -> bool:
        weights = self.weights
        return os.sep in weights or "/" in weights or weights.endswith(CHECKPOINT_SUFFIXES) or weights.startswith("~")

    @classmethod
    def parse(cls, value: str) -> "OpenClipTowerSpec":
        """Parse the part after `open_clip:`."""
        body = value[len(PREFIX) + 1:] if is_open_clip_tower(value) else value
        arch, sep, weights = body.rpartition("@")
        if not sep or not arch or not weights:
            raise VisionTowerSpecError(
                f"vision tower {value!r}: expected open_clip:<ARCH>@<WEIGHTS>, e.g. "
                "open_clip:ViT-L-14-336@openai or open_clip:ViT-L-14-336@/path/to/weights.safetensors")
        if arch.endswith(".json"):
            return cls(architecture=Path(arch).stem, architecture_file=str(Path(arch).expanduser()), weights=weights)
        return cls(architecture=arch, architecture_file=None, weights=weights)

    def as_string(self) -> str:
        return f"{PREFIX}:{self.architecture_file or self.architecture}@{self.weights}"

    def short_name(self) -> str:
        """For tables and charts: `open_clip:ARCH@FILE NAME` (no folders)."""
        return f"{PREFIX}:{self.architecture}@{Path(self.weights).name}"

    def register_architecture(self) -> None:
        """Make a custom architecture JSON known to open_clip (idempotent)."""
        import open_clip

        if self.architecture_file is None:
            if self.architecture not in open_clip.list_models():
                raise VisionTowerSpecError(
                    f"open_clip has no architecture {self.architecture!r}; pass a known name "
                    "(open_clip.list_models()) or the path of an architecture .json file"
                )
            return
        path = Path(self.architecture_file)
        if not path.is_file():
            raise VisionTowerSpecError(f"architecture file {path} not found (from --vision_tower)")
        try:
            wanted = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise VisionTowerSpecError(f"architecture file {path} is not readable JSON: {err}") from None
        known = open_clip.get_model_config(self.architecture)
        if known is None:
            open_clip.add_model_config(path)
            _REGISTERED_FILES[self.architecture] = str(path)
        elif known != wanted:
            # open_clip keys architectures by name: registering this file would be ignored (or would
            # replace the other one for every later user), so the tower would not be the one asked for
            builtin = (Path(open_clip.__file__).parent / "model_configs" / f"{self.architecture}.json").is_file()
            first = _REGISTERED_FILES.get(self.architecture, "another file")
            other = "a built-in open_clip architecture" if builtin else f"the architecture {first}, registered first"
            raise VisionTowerSpecError(
                f"architecture file {path} is named {self.architecture!r} like {other}, but its contents differ; "
                f"open_clip keys architectures by name. Rename the file (e.g. {self.architecture}-custom.json) and "
                "point --vision_tower at the new name")

    def vision_config(self) -> Dict[str, Any]:
        """The architecture's vision_cfg, without building the model."""
        import open_clip

        self.register_architecture()
        config = open_clip.get_model_config(self.architecture)
        if not config or "vision_cfg" not in config:
            raise VisionTowerSpecError(f"open_clip architecture {self.architecture!r} has no vision_cfg")
        return config["vision_cfg"]

    def resolve_weights(self, cache_dir: Optional[str] = None) -> str:
        """Local path of the weights, or VisionWeightsNotFound saying what to download."""
        if self.weights_is_file:
            path = Path(self.weights).expanduser()
            if not path.is_file():
                raise VisionWeightsNotFound(
                    f"vision tower weights {path} not found. Put the open_clip checkpoint of "
                    f"{self.architecture} there, or point --vision_tower at the file you downloaded.")
            return str(path)
        return _resolve_pretrained_tag(self.architecture, self.weights, cache_dir)


def _resolve_pretrained_tag(architecture: str, tag: str, cache_dir: Optional[str]) -> str:
    import open_clip

    config = open_clip.get_pretrained_cfg(architecture, tag)
    if not config:
        known = ", ".join(open_clip.list_pretrained_tags_by_model(architecture)) or "none"
        raise VisionTowerSpecError(
            f"open_clip has no pretrained tag {tag!r} for {architecture}; known tags: {known}. "
            "A local checkpoint file path works too.")
    if config.get("file"):
        return config["file"]
    candidates = []
    hub = config.get("hf_hub", "")
    if hub:
        # open_clip writes 'org/repo/' for the default file name and 'org/repo/file' otherwise
        repo_id, filename = (hub.rstrip("/"), "") if hub.endswith("/") else os.path.split(hub)
        names = [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        from huggingface_hub import try_to_load_from_cache  # installed with transformers

        for name in names:
            found = try_to_load_from_cache(repo_id, name, cache_dir=cache_dir)
            if isinstance(found, str) and os.path.isfile(found):
                return found
        candidates.append(f"the Hugging Face repository {repo_id} (file {' or '.join(names)})")
    url = config.get("url", "")
    if url:
        target = Path(cache_dir or os.path.expanduser("~/.cache/clip")) / os.path.basename(url)
        if target.is_file():
            return str(target)
        candidates.append(f"{url} (save it as {target})")
    where = "; or ".join(candidates) or "open_clip's release"
    # a file carries no record of its activation: weights trained with QuickGELU (OpenAI's) need the
    # architecture that builds it, or the tower would compute other features than the tag gives
    file_architecture = architecture
    if config.get("quick_gelu") and f"{architecture}-quickgelu" in open_clip.list_models():
        file_architecture = f"{architecture}-quickgelu"
    raise VisionWeightsNotFound(
        f"weights for open_clip:{architecture}@{tag} are not on this machine and are never downloaded "
        f"at run time. Download them from {where} on a machine with internet access, then either copy "
        "them into this machine's Hugging Face cache (HF_HOME) or pass the file directly"
        + (f" (with QuickGELU, as these weights were trained: {file_architecture} builds it)"
           if file_architecture != architecture else "")
        + f": --vision_tower open_clip:{file_architecture}@/path/to/the/downloaded/file")

