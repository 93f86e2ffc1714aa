"""Turning packing on: `--pack_sequences True` or `pack_sequences: true` in a data recipe; either way
the training collator marks every batch with --model_max_length and LLaVA's model packs it."""
from pathlib import Path
from types import SimpleNamespace

import pytest
import transformers

from socialfusion_plugin.data import RecipeError, load_recipe
from socialfusion_plugin.host import install_train_hooks
from socialfusion_plugin.host.llava.packing.packing import PACK_KEY, PackingCollator

RECIPES = Path(__file__).resolve().parents[2] / "data_recipes"
SOURCE = "sources:\n  - task: gesture\n    root: ${SOCIALFUSION_DATA}/gesture\n    split: train\n    sample: first:6\n"


def write(tmp_path, text) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


def test_recipes_pack_only_when_they_say_so(tmp_path, data_env):
    assert load_recipe(RECIPES / "social5_general.yaml").pack_sequences is False
    assert load_recipe(write(tmp_path, "seed: 0\npack_sequences: true\n" + SOURCE)).pack_sequences is True


@pytest.mark.parametrize("value", ["yes please", "1", "null"])
def test_pack_sequences_must_be_a_boolean(tmp_path, data_env, value):
    with pytest.raises(RecipeError, match=r"recipe.yaml: 'pack_sequences' must be true or false"):
        load_recipe(write(tmp_path, f"seed: 0\npack_sequences: {value}\n" + SOURCE))


@pytest.mark.parametrize("argv, expected", [([], False), (["--pack_sequences", "True"], True),
                                            (["--pack_sequences"], True), (["--pack_sequences", "false"], False)])
def test_the_parser_accepts_the_flag(argv, expected):
    train = install_train_hooks()
    parser = transformers.HfArgumentParser((train.ModelArguments, train.DataArguments, train.TrainingArguments))
    namespace, unknown = parser.parse_known_args(["--data_recipe", "r.yaml", "--output_dir", "o", *argv])
    assert unknown == [] and namespace.pack_sequences is expected


def data_args(**values):
    from socialfusion_plugin.model.open_clip_tower import build_image_processor

    processor = build_image_processor({"size": 32, "mean": [0.5] * 3, "std": [0.5] * 3})
    base = dict(data_recipe=None, data_path=None, data_cache_dir=None, image_folder=None, image_processor=processor,
                is_multimodal=True, mm_use_im_start_end=False, image_aspect_ratio="pad", lazy_preprocess=True,
                pack_sequences=False)
    return SimpleNamespace(**dict(base, **values))


@pytest.fixture
def tokenizer(tiny_assets):
    from llava import conversation as conversation_lib

    tok = transformers.AutoTokenizer.from_pretrained(str(tiny_assets.llm_dir), use_fast=False,
                                                     model_max_length=1024, padding_side="right")
    tok.pad_token = tok.unk_token
    saved = conversation_lib.default_conversation
    conversation_lib.default_conversation = conversation_lib.conv_templates["v1"]
    yield tok
    conversation_lib.default_conversation = saved


def test_a_packing_recipe_gives_a_packing_collator(tmp_path, data_env, tokenizer, capsys):
    train = install_train_hooks()
    recipe = write(tmp_path, "seed: 0\npack_sequences: true\n" + SOURCE)
    module = train.make_supervised_data_module(tokenizer=tokenizer, data_args=data_args(data_recipe=str(recipe)))
    collator = module["data_collator"]
    assert isinstance(collator, PackingCollator) and collator.max_length == 1024
    batch = collator([module["train_dataset"][i] for i in range(3)])
    assert batch[PACK_KEY] == 1024 and batch["input_ids"].shape[0] == 3  # the data itself is unchanged
    assert getattr(train.LlavaLlamaForCausalLM.forward, "_socialfusion_packing", False)
    assert "pack_sequences: each batch's samples are packed into rows of up to 1024 tokens" in capsys.readouterr().out


def test_the_flag_packs_a_plain_data_path_and_without_it_nothing_changes(color_data, tokenizer):
    train = install_train_hooks()
    images = str(color_data.parent / "images")
    packed = train.make_supervised_data_module(
        tokenizer=tokenizer, data_args=data_args(data_path=str(color_data), image_folder=images, pack_sequences=True))
    plain = train.make_supervised_data_module(
        tokenizer=tokenizer, data_args=data_args(data_path=str(color_data), image_folder=images))
    assert isinstance(packed["data_collator"], PackingCollator)
    assert not isinstance(plain["data_collator"], PackingCollator)
    assert PACK_KEY not in plain["data_collator"]([plain["train_dataset"][0]])
