"""The shortcuts that make evaluation fast give what the plain computation gives: image tensors
identical to LLaVA's process_images, and ranking that applies the vocabulary head only where a
log-probability is read (its scores against a full forward are in test_evaluation_host_inference)."""
import importlib.metadata

import pytest
import torch

from eval_helpers import COLORS, color_images, color_questions
from socialfusion_plugin.host.llava.inference.eval_inputs import image_batch, pillow_check_answered_once
from socialfusion_plugin.host.llava.inference.option_ranking import _option_trie, option_token_ids, rank_options


def count_metadata_reads(monkeypatch):
    reads = []
    original = importlib.metadata.version

    def version(name):
        reads.append(name)
        return original(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    return reads


def test_images_are_identical_to_llava_process_images_with_one_pillow_lookup(trained_color_model, monkeypatch):
    from llava.mm_utils import process_images
    from transformers import image_utils
    from transformers.utils import import_utils

    loaded = trained_color_model.loaded
    images = color_images(trained_color_model)[:6]
    reads = count_metadata_reads(monkeypatch)
    reference = process_images(images, loaded.image_processor, loaded.model.config)
    plain_reads = len(reads)
    assert plain_reads >= len(images)  # transformers reads Pillow's metadata for every image, several times

    del reads[:]
    pixels, sizes = image_batch(loaded, images)
    assert len(reads) <= 2  # Pillow (or Pillow-SIMD): one lookup for the whole batch
    assert torch.equal(pixels.cpu(), reference.to(pixels.dtype))
    assert sizes == [image.size for image in images]
    # Nothing outside the block sees the change.
    assert image_utils.is_vision_available is import_utils.is_vision_available
    assert import_utils.BACKENDS_MAPPING["vision"][0] is import_utils.is_vision_available


def test_pillow_check_is_restored_when_preprocessing_fails():
    from transformers import image_utils
    from transformers.utils import import_utils

    original = import_utils.is_vision_available
    with pytest.raises(RuntimeError, match="broken image"):
        with pillow_check_answered_once():
            assert image_utils.is_vision_available is not original
            assert image_utils.is_vision_available() is original()
            raise RuntimeError("broken image")
    assert image_utils.is_vision_available is original
    assert import_utils.BACKENDS_MAPPING["vision"][0] is original


def test_ranking_applies_the_vocabulary_head_only_at_read_positions(trained_color_model):
    """The prompt pass reads one position per sample; the option pass one per prefix-tree node. A
    full forward would apply the head at every prompt position (about 40 here, ~600 with LLaVA-1.5)."""
    loaded = trained_color_model.loaded
    questions, images = color_questions(trained_color_model)[:3], color_images(trained_color_model)[:3]
    options = option_token_ids(loaded.tokenizer, {c: c for c in COLORS})
    nodes = len(_option_trie(list(options.values()))[0])
    positions = []
    hook = loaded.model.lm_head.register_forward_hook(
        lambda module, args, output: positions.append(tuple(args[0].shape[:-1])))
    try:
        scores = rank_options(loaded, questions, images, options)
    finally:
        hook.remove()
    assert positions == [(3,), (3, nodes)]
    assert all(set(row) == set(COLORS) and all(value < 0 for value in row.values()) for row in scores)
