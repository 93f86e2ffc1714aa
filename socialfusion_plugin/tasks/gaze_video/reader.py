"""Reading the VideoAttentionTarget release.

annotations/<split>/<show>/<clip>/sNN.txt is one person track: headerless CSV lines
`frame, xmin, ymin, xmax, ymax, gazex, gazey` in pixels, frame = image file name under
images/<show>/<clip>/. One record = one annotated line (a person in a frame). A track file is
small (at most a few thousand lines), so it is read whole: smoothing needs its neighbours.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator, List, Optional, Sequence, Union

import numpy as np

from ..base import Sample, Skip
from ..gaze_targets import csv_rows, head_box, head_sample
from ..geometry import InvalidBox, finite_floats, image_point, rounded
from ..paths import ImageFiles, safe_relative_path

COLUMNS = 7
OUT_OF_FRAME_MARKER = (-1.0, -1.0)
SMOOTHING_WINDOW = 11  # the reference's moving average over a track's head boxes (odd)


@dataclass
class TrackLine:
    line: int
    position: int  # index among the track's annotated lines, for frame_stride
    frame: str
    box: List[float]  # pixels, as released (smoothed if asked)
    gaze: List[float]  # pixels; -1,-1 = out of frame


def track_files(folder: Path) -> Iterator[Path]:
    """annotations/<split>/<show>/<clip>/*.txt in sorted order (deterministic across machines)."""
    for show in sorted(p for p in folder.iterdir() if p.is_dir()):
        for clip in sorted(p for p in show.iterdir() if p.is_dir()):
            yield from sorted(p for p in clip.iterdir() if p.is_file() and p.suffix == ".txt")


def read_split(root: Path, split: str, frame_stride: int, smooth_boxes: bool) -> Iterator[Union[Sample, Skip]]:
    folder = Path(root) / "annotations" / split
    if not folder.is_dir():
        raise FileNotFoundError(f"VideoAttentionTarget annotation folder {folder} not found")
    images = ImageFiles(root)
    for track_file in track_files(folder):
        yield from read_track(root, split, track_file, images, frame_stride, smooth_boxes)


def read_track(root: Path, split: str, track_file: Path, images: ImageFiles, frame_stride: int,
               smooth_boxes: bool) -> Iterator[Union[Sample, Skip]]:
    show, clip, track = track_file.parent.parent.name, track_file.parent.name, track_file.stem
    where = f"annotations/{split}/{show}/{clip}/{track_file.name}"
    parsed = [_parse_line(fields, line, position, where)
              for position, (line, fields) in enumerate(csv_rows(track_file))]
    if smooth_boxes:
        smooth_track_boxes([p for p in parsed if isinstance(p, TrackLine)])
    seen_frames = set()
    for item in parsed:
        if isinstance(item, Skip):
            yield item
            continue
        ref = f"{where}:{item.line}"
        relative = safe_relative_path(root, f"images/{show}/{clip}/{item.frame}", ref)
        if item.position % frame_stride:
            yield Skip(ref, "not sampled (frame_stride)")
            continue
        if item.frame in seen_frames:
            yield Skip(ref, "duplicate frame in track", detail=item.frame)
            continue
        seen_frames.add(item.frame)
        # every frame is checked and measured on its own: a clip's frames are usually alike, but
        # an empty, corrupt or oversized frame among them must be a skip, never a record
        size = images.check(relative, ref)
        if isinstance(size, Skip):
            yield size
            continue
        yield _sample(item, ref, relative, size, show, clip, track)


def _parse_line(fields: Sequence[str], line: int, position: int, where: str) -> Union[TrackLine, Skip]:
    ref = f"{where}:{line}"
    if len(fields) != COLUMNS:
        return Skip(ref, "malformed line", detail=f"{len(fields)} columns, expected {COLUMNS}")
    frame = fields[0].strip()
    try:
        numbers = finite_floats(fields[1:])
    except ValueError:
        return Skip(ref, "malformed line", detail=",".join(fields))
    if not frame:
        return Skip(ref, "malformed line", detail="empty frame name")
    if not PurePosixPath(frame).suffix:
        frame += ".jpg"  # some copies list the bare 8-digit frame number
    return TrackLine(line=line, position=position, frame=frame, box=numbers[:4], gaze=numbers[4:])


def smooth_track_boxes(lines: List[TrackLine]) -> None:
    """Moving average (window 11) of each box coordinate along the track, ends padded with the
    first/last value: the reference's `smooth_by_conv`, which damps head-detector jitter."""
    if not lines:
        return
    boxes = np.array([line.box for line in lines], dtype=np.float64)
    half = SMOOTHING_WINDOW // 2
    padded = np.concatenate([np.repeat(boxes[:1], half, axis=0), boxes, np.repeat(boxes[-1:], half, axis=0)])
    kernel = np.ones(SMOOTHING_WINDOW) / SMOOTHING_WINDOW
    smoothed = np.stack([np.convolve(padded[:, c], kernel, mode="valid") for c in range(4)], axis=1)
    for line, box in zip(lines, smoothed):
        line.box = [float(v) for v in box]


def _sample(item: TrackLine, ref: str, relative: str, size, show: str, clip: str, track: str) -> Union[Sample, Skip]:
    box = head_box(ref, item.box, size, "frame")
    if isinstance(box, Skip):
        return box
    width, height = size
    gaze: Optional[List[float]] = None
    in_frame = tuple(item.gaze) != OUT_OF_FRAME_MARKER
    if in_frame:
        # slightly negative (or past-the-edge) points are annotation noise at the border: clamped, kept
        # in frame; a point farther out is damage, not a point
        try:
            gaze = rounded(image_point(item.gaze, width, height))
        except InvalidBox as err:
            return Skip(ref, "invalid gaze point", detail=f"{err} (frame {width}x{height})")
    # the id is readable and unique: show names keep their spaces and apostrophes (ids are JSON
    # strings, not paths)
    return head_sample(f"{show}/{clip}/{track}/{PurePosixPath(item.frame).stem}", ref, relative, box, {
        "in_frame": in_frame, "gaze": gaze, "head_box": box, "image_size": [width, height],
        "show": show, "clip": clip, "track": track, "frame": item.frame,
    })
