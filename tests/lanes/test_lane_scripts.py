"""The LLaVA lane's own tools: the pin check fails on a moved LLaVA pin and only then, and LLaVA's code
gets the source checkout's requirements as its metadata."""
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PINS = REPO / "constraints" / "llava-c121f04.txt"
PIN_CHECK = REPO / "scripts" / "lanes" / "pin_check.py"


def pin_check(tmp_path, before, after, *allow):
    (tmp_path / "before.txt").write_text("\n".join(before) + "\n")
    (tmp_path / "after.txt").write_text("\n".join(after) + "\n")
    args = [sys.executable, str(PIN_CHECK), str(PINS), str(tmp_path / "before.txt"), str(tmp_path / "after.txt")]
    if allow:
        args += ["--allow", *allow]
    return subprocess.run(args, capture_output=True, text=True)


BASE = ["torch==2.1.2", "timm==0.6.13", "deepspeed==0.12.6", "peft==0.21.2", "fsspec==2026.9.0", "numpy==1.26.4",
        "accelerate==0.21.0", "transformers==4.37.2", "tokenizers==0.15.1", "sentencepiece==0.1.99",
        "scikit-learn==1.2.2", "gradio==4.16.0", "gradio_client==0.8.1", "httpx==0.24.0", "einops==0.6.1",
        "einops-exts==0.0.4", "torchvision==0.16.2"]


def test_a_moved_llava_pin_fails_and_names_the_package(tmp_path):
    after = [line.replace("timm==0.6.13", "timm==1.0.31") for line in BASE]
    result = pin_check(tmp_path, BASE, after, "peft")
    assert result.returncode == 1
    assert "timm 0.6.13 -> 1.0.31: NOT ALLOWED: pinned by LLaVA" in result.stdout
    assert "FAILED: the install moved timm" in result.stdout


def test_peft_is_allowed_only_when_named_and_unpinned_moves_are_listed(tmp_path):
    after = [line.replace("peft==0.21.2", "peft==0.13.2").replace("fsspec==2026.9.0", "fsspec==2026.6.0")
             for line in BASE] + ["datasets==5.0.1", "open_clip_torch==2.32.0"]
    allowed = pin_check(tmp_path, BASE, after, "peft")
    assert allowed.returncode == 0, allowed.stdout
    assert "peft 0.21.2 -> 0.13.2: allowed (see docs/install-and-lanes.md)" in allowed.stdout
    assert "fsspec 2026.9.0 -> 2026.6.0: not pinned by LLaVA" in allowed.stdout
    assert "added 2 packages: datasets 5.0.1, open-clip-torch 2.32.0" in allowed.stdout
    assert "ok: none of the 14 packages LLaVA pins moved" in allowed.stdout
    # peft is not pinned by LLaVA either, so it moves without --allow too, but is reported as such
    assert "peft 0.21.2 -> 0.13.2: not pinned by LLaVA" in pin_check(tmp_path, BASE, after).stdout


def test_a_pin_missing_before_the_install_fails(tmp_path):
    before = [line for line in BASE if not line.startswith("deepspeed")]
    result = pin_check(tmp_path, before, before)
    assert result.returncode == 1
    assert "pinned packages not installed before the plugin: deepspeed" in result.stdout


def test_llava_code_gets_the_source_checkouts_requirements(tmp_path):
    wheel = tmp_path / "llava_torch-1.2.2.post1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("llava/__init__.py", "")
        archive.writestr("llava/train/train.py", "x = 1\n")
        archive.writestr("llava_torch-1.2.2.post1.dist-info/METADATA", "Requires-Dist: torch==2.0.1\n")
    out = tmp_path / "llava-src"
    subprocess.run([sys.executable, str(REPO / "scripts" / "lanes" / "llava_dist.py"), str(PINS), str(wheel), str(out)],
                   check=True)
    assert (out / "llava" / "train" / "train.py").read_text() == "x = 1\n"
    assert not (out / "llava_torch-1.2.2.post1.dist-info").exists()
    pyproject = (out / "pyproject.toml").read_text()
    assert 'name = "llava"' in pyproject
    assert '"torch==2.1.2"' in pyproject and '"timm==0.6.13"' in pyproject and '"peft"' in pyproject
    assert 'train = ["deepspeed==0.12.6", "ninja", "wandb"]' in pyproject
    assert "2.0.1" not in pyproject
