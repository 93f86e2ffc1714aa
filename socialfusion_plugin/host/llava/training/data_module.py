"""`--data_recipe RECIPE.yaml` for LLaVA's train(): a mixture trained on the fly, no merged file.

train() reads `DataArguments` and `make_supervised_data_module` from its module globals when it is
called, so installing replaces both:
- DataArguments gains `data_recipe` (and `data_cache_dir`); HfArgumentParser then accepts
  `--data_recipe`, and `--data_path` may be omitted (exactly one of the two is required);
- DataArguments gains `pack_sequences` (`--pack_sequences True`, or `pack_sequences: true` in the
  recipe): the collator marks each batch for packing and LLaVA's model packs its samples into rows
  after splicing the image features in (packing.py);
- make_supervised_data_module builds a LazySupervisedDataset-compatible dataset over the mixture.
  Its records carry absolute image paths, so LLaVA's os.path.join(image_folder, image) resolves
  each source's own root and --image_folder is not needed.
Every rank builds the same mixture (a pure function of the recipe and its seed); the converted
sources are built once per cache (file locks) and memory-mapped, so N ranks do not hold N copies.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

from socialfusion_plugin.host_interface import HostArgumentError


def extend_data_arguments(base):
    @dataclass
    class DataArguments(base):
        data_recipe: Optional[str] = field(
            default=None, metadata={"help": "SocialFusion data recipe (YAML) trained on the fly instead of --data_path"})
        data_cache_dir: Optional[str] = field(
            default=None, metadata={"help": "cache of converted recipe sources (default $SOCIALFUSION_CACHE/data "
                                            "or ~/.cache/socialfusion/data); shared by all ranks of a node"})
        pack_sequences: bool = field(
            default=False, metadata={"help": "pack the samples of each batch into rows of up to --model_max_length "
                                             "tokens (image features included), attention kept per sample"})

    DataArguments.__qualname__ = base.__qualname__
    return DataArguments


class RecordView:
    """`list_data_dict` for LLaVA's __getitem__, decoded on demand. LLaVA reads the same index
    several times per sample, so the last record is kept."""

    def __init__(self, mixture):
        self.mixture = mixture
        self._last_index, self._last = -1, None

    def __len__(self) -> int:
        return len(self.mixture)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index != self._last_index:
            self._last, self._last_index = self.mixture.record(int(index)), index
        return self._last


def make_dataset_class(base):
    class MixtureSupervisedDataset(base):
        """LLaVA's LazySupervisedDataset over a Mixture (its __getitem__ unchanged)."""

        def __init__(self, mixture, tokenizer, data_args):
            super(base, self).__init__()  # skip base.__init__: it json.loads a --data_path file
            self.mixture = mixture
            self.tokenizer = tokenizer
            self.data_args = data_args
            self.list_data_dict = RecordView(mixture)

        # LLaVA's length proxies, from the cached word counts instead of decoding every record
        @property
        def lengths(self):
            return (self.mixture.words + 128 * self.mixture.has_image).tolist()

        @property
        def modality_lengths(self):
            words = self.mixture.words
            return [int(w) if image else -int(w) for w, image in zip(words, self.mixture.has_image)]

    return MixtureSupervisedDataset


def _is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0" and os.environ.get("LOCAL_RANK", "0") in ("0", "-1")


def build_recipe_data_module(train_module, tokenizer, data_args):
    from socialfusion_plugin.data import RecipeError, build_mixture, load_recipe

    if data_args.data_path is not None:
        raise HostArgumentError("give either --data_path or --data_recipe, not both")
    main = _is_main_process()
    try:
        recipe = load_recipe(data_args.data_recipe)
        mixture = build_mixture(recipe, cache_dir=data_args.data_cache_dir, progress=main)
    except (RecipeError, FileNotFoundError, ValueError) as err:
        raise HostArgumentError(f"--data_recipe {data_args.data_recipe}: {err}") from None
    if recipe.pack_sequences:
        data_args.pack_sequences = True
    if main:
        print(f"data recipe {data_args.data_recipe}: {len(mixture):,} samples, seed {recipe.seed}", flush=True)
        for name, count in mixture.counts().items():
            print(f"  {name:<20} {count:>9,}", flush=True)
        if data_args.image_folder:
            print("  (--image_folder is not used with --data_recipe: each source has its own image folder)", flush=True)
    data_args.image_folder = ""  # records hold absolute paths; os.path.join("", path) is path
    dataset = make_dataset_class(train_module.LazySupervisedDataset)(mixture, tokenizer, data_args)
    collator = train_module.DataCollatorForSupervisedDataset(tokenizer=tokenizer)
    return dict(train_dataset=dataset, eval_dataset=None, data_collator=collator)


def packed_if_requested(train_module, tokenizer, data_args, data_module: dict) -> dict:
    """With --pack_sequences (or the recipe's pack_sequences): the model's forward packs, and the
    collator marks every batch with the row length, --model_max_length."""
    if not getattr(data_args, "pack_sequences", False):
        return data_module
    from socialfusion_plugin.host.llava.packing.packing import PackingCollator, install_packing

    install_packing(train_module.LlavaLlamaForCausalLM)
    try:
        collator = PackingCollator(data_module["data_collator"], tokenizer.model_max_length)
    except ValueError as err:
        raise HostArgumentError(f"--pack_sequences: {err}") from None
    if _is_main_process():
        print(f"pack_sequences: each batch's samples are packed into rows of up to {collator.max_length} tokens "
              "(image features included); attention and position ids stay per sample", flush=True)
    return dict(data_module, data_collator=collator)


def install_data_hooks(train_module) -> None:
    if getattr(train_module, "_socialfusion_data_installed", False):
        return
    train_module.DataArguments = extend_data_arguments(train_module.DataArguments)
    original = train_module.make_supervised_data_module

    def make_supervised_data_module(tokenizer, data_args):
        if getattr(data_args, "data_recipe", None):
            data_module = build_recipe_data_module(train_module, tokenizer, data_args)
        elif data_args.data_path is None:
            raise HostArgumentError("give --data_path FILE.json (with --image_folder) or --data_recipe RECIPE.yaml")
        else:
            data_module = original(tokenizer=tokenizer, data_args=data_args)
        return packed_if_requested(train_module, tokenizer, data_args, data_module)

    train_module.make_supervised_data_module = make_supervised_data_module
    train_module._socialfusion_data_installed = True
