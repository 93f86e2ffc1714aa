"""EMOTIC emotion categories of a boxed person: converter (official .mat and the common CSV
conversion), answer format and parser, mean AP over the 26 categories and VAD error."""
from ...registry import TASKS
from .task import EmotionOptions, EmotionTask

__all__ = ["EmotionOptions", "EmotionTask"]

TASKS.register("emotion", EmotionTask())
