"""Small synthetic releases of the five social datasets, written in their ORIGINAL formats (with the
quirks converters must handle). The tests, `socialfusion demo` and the recipe tests use them in place
of the real downloads, which never happen on CI machines."""

from pathlib import Path
from typing import Dict

from ...data_layout import DataLayout
from . import emotic, gazefollow, hagrid, pisc, video_attention_target


def write_all_releases(root: Path) -> Dict[str, Path]:
    """{task name: dataset root} of the quirk-laden test fixtures (few records, some skipped on
    purpose; not a training set) under `root`, where the data layout puts them (`root/<task>/`)."""
    layout = DataLayout(root)
    video_root = video_attention_target.build_release(layout.release("gaze_video"), "train")
    video_attention_target.build_release(layout.release("gaze_video"), "test")
    return {
        "gesture": hagrid.standard_release(layout.release("gesture")),
        "relation": pisc.standard_release(layout.release("relation")),
        "gaze": gazefollow.build_release(layout.release("gaze")),
        "gaze_video": video_root,
        "emotion": emotic.build_mat_release(layout.release("emotion")),
    }
