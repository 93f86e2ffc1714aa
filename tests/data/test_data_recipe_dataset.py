"""`--data_recipe` in LLaVA's train(): the parser accepts it, and the dataset it builds behaves like
LLaVA's LazySupervisedDataset over the mixture (same items, same length proxies)."""
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import transformers

from socialfusion_plugin.host import install_train_hooks
from socialfusion_plugin.host_interface import HostArgumentError

RECIPES = Path(__file__).resolve().parents[2] / "data_recipes"


def parse(train, argv):
    parser = transformers.HfArgumentParser((train.ModelArguments, train.DataArguments, train.TrainingArguments))
    namespace, unknown = parser.parse_known_args(argv)
    return namespace, unknown


def test_the_parser_accepts_a_data_recipe_without_data_path(tmp_path):
    train = install_train_hooks()
    namespace, unknown = parse(train, ["--data_recipe", "r.yaml", "--data_cache_dir", "c", "--output_dir", "o"])
    assert unknown == [] and namespace.data_recipe == "r.yaml" and namespace.data_path is None
    assert namespace.data_cache_dir == "c"


def data_args(recipe=None, data_path=None, image_folder=None, tiny_assets=None):
    processor = None
    if tiny_assets is not None:
        from socialfusion_plugin.model.open_clip_tower import build_image_processor

        processor = build_image_processor({"size": 32, "mean": [0.5] * 3, "std": [0.5] * 3})
    return SimpleNamespace(data_recipe=recipe, data_path=data_path, data_cache_dir=None, image_folder=image_folder,
                           image_processor=processor, is_multimodal=True, mm_use_im_start_end=False,
                           image_aspect_ratio="pad", lazy_preprocess=True)


@pytest.fixture
def tokenizer(tiny_assets):
    tok = transformers.AutoTokenizer.from_pretrained(str(tiny_assets.llm_dir), use_fast=False,
                                                     model_max_length=2048, padding_side="right")
    tok.pad_token = tok.unk_token
    return tok


@pytest.fixture
def v1_template():
    from llava import conversation as conversation_lib

    saved = conversation_lib.default_conversation
    conversation_lib.default_conversation = conversation_lib.conv_templates["v1"]
    yield
    conversation_lib.default_conversation = saved


def test_recipe_dataset_matches_the_materialized_mixture(data_env, tiny_assets, tokenizer, v1_template, tmp_path):
    from socialfusion_plugin.cli.main import main

    train = install_train_hooks()
    recipe = RECIPES / "social5_general.yaml"
    module = train.make_supervised_data_module(tokenizer=tokenizer, data_args=data_args(str(recipe), tiny_assets=tiny_assets))
    dataset = module["train_dataset"]
    assert isinstance(dataset, train.LazySupervisedDataset)
    assert main(["mix", str(recipe), "--out", str(tmp_path / "m.json"), "--no-progress"]) == 0
    records = json.loads((tmp_path / "m.json").read_text())
    assert len(dataset) == len(records)
    assert [dataset.list_data_dict[i]["id"] for i in range(len(dataset))] == [r["id"] for r in records]
    # LLaVA's own length proxies over the same records
    stock = train.LazySupervisedDataset.__new__(train.LazySupervisedDataset)
    stock.list_data_dict = records
    assert dataset.lengths == stock.lengths
    assert dataset.modality_lengths == stock.modality_lengths
    # items are what LLaVA's __getitem__ makes: ids, labels with trained answer tokens, the image tensor
    batch = module["data_collator"]([dataset[i] for i in range(4)])
    assert batch["input_ids"].shape[0] == 4 and batch["images"].shape == (4, 3, 32, 32)
    assert all((labels != -100).any() for labels in batch["labels"])


@pytest.mark.parametrize("recipe, data_path, message", [
    ("r.yaml", "d.json", "give either --data_path or --data_recipe, not both"),
    (None, None, "give --data_path FILE.json (with --image_folder) or --data_recipe RECIPE.yaml"),
    ("{missing}", None, "--data_recipe {missing}: data recipe {missing} not found"),
])
def test_data_argument_errors(tokenizer, tmp_path, recipe, data_path, message):
    train = install_train_hooks()
    missing = str(tmp_path / "missing.yaml")
    recipe = recipe.format(missing=missing) if recipe else recipe
    with pytest.raises(HostArgumentError) as err:
        train.make_supervised_data_module(tokenizer=tokenizer, data_args=data_args(recipe, data_path))
    assert str(err.value) == message.format(missing=missing)


def test_a_plain_data_path_still_goes_to_llava(color_data, tokenizer):
    train = install_train_hooks()
    module = train.make_supervised_data_module(
        tokenizer=tokenizer, data_args=data_args(None, str(color_data), str(color_data.parent / "images")))
    assert type(module["train_dataset"]) is train.LazySupervisedDataset and len(module["train_dataset"]) == 16
