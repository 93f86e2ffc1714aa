"""A few generated image + conversation samples in LLaVA's training format.

Each image is a colored square on a gray background; the conversation asks for the color. The
answer depends only on the image, so a model that learns anything must route visual information
through the connector.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Dict, List

from ..atomic_files import atomic_write_json

COLORS: Dict[str, tuple] = {
    "red": (220, 30, 30),
    "green": (30, 180, 60),
    "blue": (40, 70, 220),
    "yellow": (230, 210, 40),
}
QUESTION = "What color is the square in the picture? Answer with one word."


def write_color_dataset(out_dir: Path, count: int = 16, seed: int = 0, size: int = 40) -> Path:
    """Write `count` images under out_dir/images and out_dir/data.json; return the JSON path."""
    from PIL import Image, ImageDraw

    out_dir = Path(out_dir)
    image_dir = out_dir / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    names = sorted(COLORS)
    records: List[dict] = []
    for index in range(count):
        color = names[index % len(names)]
        image = Image.new("RGB", (size, size), (128, 128, 128))
        side = rng.randint(size // 2, size - 4)
        left, top = rng.randint(0, size - side), rng.randint(0, size - side)
        ImageDraw.Draw(image).rectangle([left, top, left + side, top + side], fill=COLORS[color])
        file_name = f"square_{index:03d}.png"
        image.save(image_dir / file_name)
        records.append({"id": f"color-{index:03d}", "image": file_name,
                        "conversations": _conversation(f"<image>\n{QUESTION}", color)})
    return atomic_write_json(out_dir / "data.json", records, indent=1)


def write_arithmetic_dataset(out_path: Path, count: int = 12, seed: int = 0) -> Path:
    """Text-only instruction samples (no image), as general instruction data has: the forgetting
    check measures a language model's loss on such samples before and after social training."""
    rng = random.Random(seed)
    records = []
    for index in range(count):
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        records.append({"id": f"sum-{index:03d}",
                        "conversations": _conversation(f"What is {a} plus {b}? Answer with a number.", str(a + b))})
    return atomic_write_json(out_path, records, indent=1)


def _conversation(question: str, answer: str) -> List[dict]:
    return [{"from": "human", "value": question}, {"from": "gpt", "value": answer}]
