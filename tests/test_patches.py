"""Every patch in patches/ applies cleanly to the installed LLaVA (llava-torch 1.2.2.post1), reverts,
and, once applied, really installs the plugin's hooks (builders, training fixes, and the loader that
decides by files; what that loader then does with LLaVA's own clients: tests/test_llava_clients.py)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PATCHES = sorted((Path(__file__).parent.parent / "patches").glob("llava-*.patch"))


@pytest.fixture
def llava_copy(tmp_path):
    import llava

    source = Path(llava.__file__).parent
    shutil.copytree(source, tmp_path / "llava", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def git_apply(root, patch, *flags):
    return subprocess.run(["git", "apply", *flags, str(patch)], cwd=root, capture_output=True, text=True)


def test_patches_exist_and_are_named_for_their_target():
    assert {p.name for p in PATCHES} == {"llava-1.2.2-train-hooks.patch", "llava-1.2.2-model-hooks.patch"}


@pytest.mark.parametrize("patch", PATCHES, ids=lambda p: p.name)
def test_patch_applies_and_reverts_cleanly(llava_copy, patch):
    check = git_apply(llava_copy, patch, "--check")
    assert check.returncode == 0, check.stderr
    assert git_apply(llava_copy, patch).returncode == 0
    assert git_apply(llava_copy, patch, "-R", "--check").returncode == 0


def test_patched_llava_installs_the_hooks(llava_copy):
    for patch in PATCHES:
        assert git_apply(llava_copy, patch).returncode == 0
    probe = (
        "import llava.model.builder as builder, llava.model.llava_arch as arch\n"
        "assert hasattr(arch.build_vision_tower, 'socialfusion_original')\n"
        "assert hasattr(arch.build_vision_projector, 'socialfusion_original')\n"
        "assert hasattr(builder.load_pretrained_model, 'socialfusion_original')  # decides by files, asked dtype\n"
        "import llava.train.train_mem, llava.train.train as train\n"
        "assert train._socialfusion_installed and train.LLaVATrainer.__name__ == 'SocialFusionTrainer'\n"
        "print('hooks installed from', llava.__file__)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(llava_copy))
    result = subprocess.run([sys.executable, "-c", probe], cwd=llava_copy, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert str(llava_copy) in result.stdout  # the patched copy, not the installed package, was imported


def test_a_llava_tree_patched_by_the_earlier_model_hooks_patch_still_loads(llava_copy, tmp_path):
    """Earlier releases' model-hooks patch imported `file_dispatch` from `socialfusion_plugin.host.llava_loader`;
    a tree patched with it keeps importing after an upgrade and still decides by files."""
    current = next(p for p in PATCHES if p.name == "llava-1.2.2-model-hooks.patch").read_text()
    new_line = "+from socialfusion_plugin.host import file_dispatch as _socialfusion_file_dispatch\n"
    assert new_line in current
    earlier = tmp_path / "earlier-model-hooks.patch"
    earlier.write_text(current.replace(new_line, "+from socialfusion_plugin.host.llava_loader import file_dispatch "
                                                 "as _socialfusion_file_dispatch\n"))
    assert git_apply(llava_copy, earlier).returncode == 0
    probe = ("import llava.model.builder as builder\n"
             "assert hasattr(builder.load_pretrained_model, 'socialfusion_original')\n")
    env = dict(os.environ, PYTHONPATH=str(llava_copy))
    result = subprocess.run([sys.executable, "-c", probe], cwd=llava_copy, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_readme_command_that_finds_llavas_folder_prints_only_that_folder():
    """patches/README.md's `cd "$(python -c ...)"` line, run as written: stdout is the folder that holds
    `llava/`, nothing else (importing LLaVA with DeepSpeed installed would print a log line first)."""
    import llava

    readme = (Path(__file__).parent.parent / "patches" / "README.md").read_text()
    line = next(line for line in readme.splitlines() if line.startswith('cd "$(python -c '))
    python_dir = os.path.dirname(sys.executable)
    result = subprocess.run(["bash", "-c", f"{line} && pwd -P"], capture_output=True, text=True,
                            env=dict(os.environ, PATH=python_dir + os.pathsep + os.environ["PATH"]))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(Path(llava.__file__).resolve().parent.parent)
