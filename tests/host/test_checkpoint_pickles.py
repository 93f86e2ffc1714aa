"""LLaVA's builder reads non_lora_trainables.bin and mm_projector.bin with a plain `torch.load`: on
torch < 2.6 (LLaVA's pins) a pickle in them runs code. Through the plugin's loader they are read
with weights_only=True: a malicious file is refused with an error naming it, and its code never runs."""
import shutil

import pytest
import torch
from malicious_pickles import CreatesMarker
from tiny_llava_checkpoints import write_lora_and_projector_checkpoints

from socialfusion_plugin.host.llava.loading.checkpoints import CheckpointError, load_checkpoint


@pytest.fixture(scope="module")
def clean_checkpoints(tiny_assets, tmp_path_factory):
    return write_lora_and_projector_checkpoints(tiny_assets, tmp_path_factory.mktemp("pickle-checkpoints"))


@pytest.mark.parametrize("kind, file_name", [("lora", "non_lora_trainables.bin"), ("projector", "mm_projector.bin")])
def test_a_pickle_in_a_connector_file_is_refused_and_never_runs(clean_checkpoints, tiny_assets, tmp_path, kind,
                                                                 file_name):
    source = clean_checkpoints[0] if kind == "lora" else clean_checkpoints[1]
    folder = tmp_path / source.name
    shutil.copytree(source, folder)
    marker = tmp_path / "pickle-code-ran"
    torch.save({"model.mm_projector.0.weight": CreatesMarker(marker)}, folder / file_name)
    with pytest.raises(CheckpointError) as raised:
        load_checkpoint(folder, str(tiny_assets.llm_dir))
    assert str(folder / file_name) in str(raised.value) and "weights_only" in str(raised.value)
    assert not marker.exists()
