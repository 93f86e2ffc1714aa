"""Data mixtures for training: data recipes (YAML), the converted-source cache, the mixture itself,
its materialization as one LLaVA JSON, and validation of a dataset before a job is launched.
Host-agnostic: nothing here imports LLaVA (the tokenization checks live in host/llava/training/label_check.py)."""
from .mixture import Mixture, build_mixture
from .recipe import DataRecipe, RecipeError, SourceSpec, load_recipe

__all__ = ["DataRecipe", "Mixture", "RecipeError", "SourceSpec", "build_mixture", "load_recipe"]
