"""HaGRIDv2 gesture task plugin: reader, answers, metrics and prompts live in this folder."""
from ...registry import TASKS
from .task import GestureOptions, GestureTask

__all__ = ["GestureOptions", "GestureTask"]

TASKS.register("gesture", GestureTask())
