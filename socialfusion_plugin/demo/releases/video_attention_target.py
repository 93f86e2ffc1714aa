"""Synthetic VideoAttentionTarget releases in the real format: images/<show>/<clip>/<frame>.jpg
and annotations/<split>/<show>/<clip>/sNN.txt with headerless lines
`frame,xmin,ymin,xmax,ymax,gazex,gazey` in pixels (gaze -1,-1 = target out of frame)."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterable, Sequence

from PIL import Image

# Show names in the release contain spaces and apostrophes.
SHOW = "Grey's Anatomy"
OTHER_SHOW = "The Big Bang Theory"
CLIP = "1000_1100"
FRAME_SIZE = (32, 16)  # width, height: gaze 8/16/24 px -> 0.25/0.5/0.75 exactly


def frame_name(number: int) -> str:
    return f"{number:08d}.jpg"


def make_frames(root: Path, show: str, clip: str, numbers: Iterable[int]) -> None:
    folder = Path(root) / "images" / show / clip
    folder.mkdir(parents=True, exist_ok=True)
    for number in numbers:
        Image.new("RGB", FRAME_SIZE, (40, 80, 120)).save(folder / frame_name(number))


def line(frame, box, gaze) -> str:
    return ",".join([frame if isinstance(frame, str) else frame_name(frame), *map(str, (*box, *gaze))])


def write_track(root: Path, split: str, show: str, clip: str, track: str, lines: Sequence[str]) -> None:
    path = Path(root) / "annotations" / split / show / clip / f"{track}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# Track s00 of SHOW/CLIP: one case per line (frames 1..10 exist on disk, 99 does not).
TRACK_S00 = [
    line(1, (4, 2, 12, 8), (16, 8)),  # 1: in frame
    line(2, (4, 2, 12, 8), (-1, -1)),  # 2: target out of frame
    line(3, (4, 2, 12, 8), (-0.6, 8)),  # 3: slightly negative x: clamped to 0, still in frame
    line(4, (4, 2, 12, 8), (24, 4)),  # 4: in frame
    line(5, (4, 2, 12), (24, 4)).rstrip(","),  # 5: six columns
    line(6, ("x", 2, 12, 8), (24, 4)),  # 6: not a number
    line(99, (4, 2, 12, 8), (24, 4)),  # 7: frame image missing
    line(7, (40, 2, 50, 8), (24, 4)),  # 8: head box right of the image: empty after clamping
    line(1, (4, 2, 12, 8), (16, 8)),  # 9: frame 1 listed twice in the track
    line(8, (28, 10, 36, 20), (8, 12)),  # 10: head box partly outside: clamped
    line(9, (12, 2, 4, 8), (24, 4)),  # 11: corners in the wrong order: refused, never swapped
]
S00_SKIPS = {"malformed line": 2, "image not found": 1, "invalid head box": 2, "duplicate frame in track": 1}

# Track s01: a second person in the same frames.
TRACK_S01 = [
    line(1, (20, 4, 26, 10), (8, 4)),
    line(2, (20, 4, 26, 10), (-1, -1)),
]

# Another show, sorted after SHOW ("G" < "T").
TRACK_OTHER = [line(5, (0, 0, 8, 8), (16, 12))]


def build_release(root: Path, split: str = "train", tracks: Dict = None) -> Path:
    """A release with SHOW/CLIP tracks s00 and s01 and OTHER_SHOW/CLIP track s00 in `split`."""
    root = Path(root)
    make_frames(root, SHOW, CLIP, range(1, 11))
    make_frames(root, OTHER_SHOW, CLIP, [5])
    tracks = tracks or {
        (SHOW, CLIP, "s00"): TRACK_S00,
        (SHOW, CLIP, "s01"): TRACK_S01,
        (OTHER_SHOW, CLIP, "s00"): TRACK_OTHER,
    }
    for (show, clip, track), lines in tracks.items():
        write_track(root, split, show, clip, track, lines)
    return root
