"""Helpers of the pre-flight tests: placeholder files in the real layouts, LLaVA records, and the
sentinel exception a test expects when a command gets past its checks."""
from __future__ import annotations

import json
from pathlib import Path

IMAGES = 30


class ModelLoadReached(Exception):
    """Raised by a sentinel: the command got past its checks to loading or building a model."""


def write_json(path: Path, value) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1), encoding="utf-8")
    return path


def placeholder(path: Path) -> Path:
    """A stand-in file; weight files are real, tiny and complete, since their headers are checked."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".safetensors":
        import torch
        from safetensors.torch import save_file

        save_file({"w": torch.zeros(2)}, str(path))
    elif path.suffix in (".bin", ".pt", ".pth"):
        import torch

        torch.save({"w": torch.zeros(2)}, path)
    else:
        path.write_bytes(b"placeholder")
    return path


def llava_records(count: int, image=lambda i: f"img_{i:03d}.png", meta=None, prefix="r"):
    return [{"id": f"{prefix}{i:03d}", "image": image(i), **({"meta": meta} if meta else {}),
             "conversations": [{"from": "human", "value": "<image>\nWhich gesture?"},
                               {"from": "gpt", "value": "like"}]} for i in range(count)]


def image_folder(folder: Path, count: int = IMAGES) -> Path:
    for index in range(count):
        placeholder(folder / f"img_{index:03d}.png")
    return folder


def run_cli(argv, capsys):
    """(exit status, stderr) of `socialfusion ARGV`."""
    from socialfusion_plugin.cli.main import main

    capsys.readouterr()
    status = main([str(item) for item in argv])
    return status, capsys.readouterr().err


def tensors_file(path, value=1.0, size=4096):
    """A connector-like weight file, `value` in one element (NaN for a diverged run)."""
    import torch
    from safetensors.torch import save_file

    state = {"model.mm_projector.0.weight": torch.ones(size), "model.mm_projector.2.bias": torch.ones(8)}
    state["model.mm_projector.2.bias"][3] = value
    save_file(state, str(path)) if path.suffix == ".safetensors" else torch.save(state, path)
    return path
