"""The conversion cache is keyed by the real files of a release, also behind symlinked folders:
a class file deleted behind a link means a new conversion, never stale records in `mix`."""
from __future__ import annotations

import json
import shutil

import pytest

from socialfusion_plugin.cli.main import main
from socialfusion_plugin.demo.releases import hagrid


def _linked_release(tmp_path, linked: str):
    """A HaGRID release in real/, seen through hagrid/ where `linked` is a symlink into real/."""
    real = hagrid.standard_release(tmp_path / "real")
    root = tmp_path / "hagrid"
    shutil.copytree(real, root, symlinks=True)
    shutil.rmtree(root / linked)
    (root / linked).symlink_to(real / linked, target_is_directory=True)
    return real, root


@pytest.mark.parametrize("linked", ["hagrid_annotations", "hagrid_annotations/train"])
def test_mix_notices_a_class_file_deleted_behind_a_symlink(tmp_path, linked):
    real, root = _linked_release(tmp_path, linked)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"seed: 0\nsources:\n  - task: gesture\n    root: {root}\n    split: train\n")

    def mixed_ids():
        out = tmp_path / "mixed.json"
        assert main(["mix", str(recipe), "--out", str(out), "--cache-dir", str(tmp_path / "cache"),
                     "--no-progress", "--workers", "1"]) == 0
        return sorted(record["id"] for record in json.loads(out.read_text()))

    before = mixed_ids()
    (real / "hagrid_annotations" / "train" / "like.json").unlink()
    after = mixed_ids()
    assert [i for i in before if "/like/" in i] == [
        "gesture/train/like/like-free-hand", "gesture/train/like/like-only-free-hand", "gesture/train/like/like-single"]
    assert after == [i for i in before if "/like/" not in i]


def tree_fingerprint(root):
    """The digest caches were keyed by before links were followed: (relative path, size, mtime)."""
    import hashlib
    import os

    digest = hashlib.sha256()
    for folder, subfolders, files in os.walk(root):
        subfolders.sort()
        relative_folder = os.path.relpath(folder, root)
        for name in sorted(files):
            stat = os.stat(os.path.join(folder, name))
            digest.update(f"{relative_folder}/{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def test_the_fingerprint_follows_links_and_ends_on_a_cycle(tmp_path):
    from socialfusion_plugin.data.source_cache import release_fingerprint

    real, root = _linked_release(tmp_path, "hagrid_annotations")
    plain = hagrid.standard_release(tmp_path / "plain")
    # without links, the digest is the one existing caches were keyed by
    assert release_fingerprint(plain) == tree_fingerprint(plain)
    first = release_fingerprint(root)
    assert first == release_fingerprint(root)
    (real / "hagrid_annotations" / "val").mkdir()
    (real / "hagrid_annotations" / "val" / "like.json").write_text("{}")
    second = release_fingerprint(root)
    assert second != first
    (root / "hagrid_dataset" / "loop").symlink_to(root, target_is_directory=True)  # a link to an ancestor
    assert release_fingerprint(root) not in (first, second)
    # re-pointing a link at an identical copy is a different release too
    copy = tmp_path / "copy"
    shutil.copytree(real / "hagrid_annotations", copy, copy_function=shutil.copy2)
    before = release_fingerprint(root)
    (root / "hagrid_annotations").unlink()
    (root / "hagrid_annotations").symlink_to(copy, target_is_directory=True)
    assert release_fingerprint(root) != before


def test_a_built_cache_entry_keeps_no_lock_file(tmp_path):
    """The entry lock serialises processes building one conversion; it goes when the build ends."""
    real, root = _linked_release(tmp_path, "hagrid_annotations")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"seed: 0\nsources:\n  - task: gesture\n    root: {root}\n    split: train\n")
    assert main(["mix", str(recipe), "--out", str(tmp_path / "mixed.json"), "--cache-dir", str(tmp_path / "cache"),
                 "--no-progress", "--workers", "1"]) == 0
    entries = sorted(path.name for path in (tmp_path / "cache" / "converted").iterdir())
    assert len(entries) == 1 and entries[0].startswith("gesture-train-"), entries
