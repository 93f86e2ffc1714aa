"""One cache root, `$SOCIALFUSION_CACHE` (default ~/.cache/socialfusion), for every cache."""
from pathlib import Path

from socialfusion_plugin.cache_root import cache_root


def test_the_variable_moves_every_cache(monkeypatch, tmp_path):
    from socialfusion_plugin.cli.main import build_parser
    from socialfusion_plugin.data.source_cache import default_cache_dir

    monkeypatch.setenv("SOCIALFUSION_CACHE", str(tmp_path / "c"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # not a second root
    assert cache_root() == tmp_path / "c"
    assert default_cache_dir() == tmp_path / "c" / "data"
    args = build_parser().parse_args(["probe", "--encoders", "open_clip:a@b", "--tasks", "gesture", "--out", "o"])
    assert args.cache_dir is None  # resolved when the probe runs, under the same root

    monkeypatch.delenv("SOCIALFUSION_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == Path(tmp_path / "home" / ".cache" / "socialfusion")
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "socialfusion" / "data"
