"""Synthetic releases of the five datasets in their original formats in which every label is
VISIBLE in the image, so a model can learn it (the demo's training data). The quirk fixtures in
`..releases` test the converters; these test that the pipeline learns.

The cue of each task (drawn on a 64x64 image, see canvas.py for why flat colours):
- gesture:    the hand box is filled with the gesture's colour (4 gestures);
- relation:   both boxes of the pair are filled with the relationship's colour (3 relationships);
- emotion:    each category the person feels paints one quadrant of the person box (4 categories);
- gaze:       a bright dot at the point the person with the skin-coloured head box looks at;
- gaze_video: the same in video frames, and no dot when the target is out of frame.
Everything is drawn from the seed: the same seed writes the same files.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict

from . import emotion, gaze, gaze_video, gesture, relation


@dataclass(frozen=True)
class CueReleaseSizes:
    """Samples per split (per class where the task has classes in equal numbers)."""

    gesture_train_per_class: int = 16
    gesture_test_per_class: int = 10
    relation_train_per_class: int = 20
    relation_test_per_class: int = 12
    emotion_train: int = 64
    emotion_test: int = 40
    gaze_train: int = 48
    gaze_test: int = 24
    gaze_video_train: int = 48
    gaze_video_test: int = 24

    def __post_init__(self):
        for name, value in vars(self).items():
            if not isinstance(value, int) or value < 2:
                raise ValueError(f"CueReleaseSizes.{name} must be an integer >= 2, got {value!r}")


def write_cue_releases(root: Path, seed: int, sizes: CueReleaseSizes = CueReleaseSizes()) -> Dict[str, Path]:
    """Every built-in task's release where the data layout puts it (`root/<task>/`, as the shipped
    recipes expect): {task name: dataset root}."""
    from ...data_layout import DataLayout

    layout = DataLayout(Path(root))
    return {
        "gesture": gesture.build(layout.release("gesture"), seed, sizes.gesture_train_per_class,
                                 sizes.gesture_test_per_class),
        "relation": relation.build(layout.release("relation"), seed, sizes.relation_train_per_class,
                                   sizes.relation_test_per_class),
        "gaze": gaze.build(layout.release("gaze"), seed, sizes.gaze_train, sizes.gaze_test),
        "gaze_video": gaze_video.build(layout.release("gaze_video"), seed, sizes.gaze_video_train,
                                       sizes.gaze_video_test),
        "emotion": emotion.build(layout.release("emotion"), seed, sizes.emotion_train, sizes.emotion_test),
    }
