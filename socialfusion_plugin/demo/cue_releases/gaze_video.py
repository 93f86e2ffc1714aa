"""A VideoAttentionTarget release whose gaze target is visible: in every frame a bright dot marks
where the person with the skin-coloured head box looks; frames whose target is out of frame have no
dot (gaze_marks.py).

Format as released (images/<show>/<clip>/<8-digit frame>.jpg, annotations/<split>/<show>/<clip>/sNN.txt
with pixel lines `frame,xmin,ymin,xmax,ymax,gazex,gazey`, -1,-1 = out of frame; show names with
spaces and apostrophes), written with releases/video_attention_target.py's writers. Each frame is
its own scene: the cue, not the motion, is what the demo is about. One train line names a frame
that does not exist, so the conversion report shows a counted skip.
"""
from __future__ import annotations

from pathlib import Path

from ..releases.video_attention_target import OTHER_SHOW, SHOW, frame_name, line, write_track
from .canvas import SIZE, save_jpeg, task_rng
from .gaze_marks import gaze_scene

OUT_OF_FRAME_SHARE = 0.2
FRAMES_PER_TRACK = 8
TRACK = "s00"  # one person per clip


def build(root: Path, seed: int, train_count: int, test_count: int) -> Path:
    root = Path(root)
    rng = task_rng(seed, "gaze_video")
    for split, count, show in (("train", train_count, SHOW), ("test", test_count, OTHER_SHOW)):
        tracks = {}
        for index in range(count):
            start = 1000 + index // FRAMES_PER_TRACK * 100
            clip = f"{start}_{start + 99}"
            frame = index % FRAMES_PER_TRACK + 1
            image, head, target = gaze_scene(rng, in_frame=rng.random() >= OUT_OF_FRAME_SHARE)
            save_jpeg(image, root / "images" / show / clip / frame_name(frame))
            gaze = (-1, -1) if target is None else tuple(round(v * SIZE, 1) for v in target)
            tracks.setdefault(clip, []).append(line(frame, tuple(round(v * SIZE) for v in head), gaze))
        if split == "train":
            first = sorted(tracks)[0]
            tracks[first].append(line(FRAMES_PER_TRACK + 1, (8, 8, 16, 16), (32, 32)))  # frame never written
        for clip, lines in tracks.items():
            write_track(root, split, show, clip, TRACK, lines)
    return root
