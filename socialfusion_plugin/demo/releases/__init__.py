"""Small synthetic releases of the five social datasets, written in their ORIGINAL formats (with the
quirks converters must handle). The tests, `socialfusion demo` and the recipe tests use them in place
of the real downloads, which never happen on CI machines."""

from pathlib import Path
from typing import Dict


def write_all_releases(root: Path) -> Dict[str, Path]:
    """The standard small release of every built-in task under `root`: {task name: dataset root}.
    These are the quirk-laden fixtures of the tests (few records, some skipped on purpose), not a
    training set."""
    from . import emotic, gazefollow, hagrid, pisc, video_attention_target

    root = Path(root)
    video_root = video_attention_target.build_release(root / "videoattentiontarget", "train")
    video_attention_target.build_release(root / "videoattentiontarget", "test")
    return {
        "gesture": hagrid.standard_release(root / "hagrid"),
        "relation": pisc.standard_release(root / "pisc"),
        "gaze": gazefollow.build_release(root / "gazefollow"),
        "gaze_video": video_root,
        "emotion": emotic.build_mat_release(root / "emotic"),
    }
