"""PISC relation task plugin: reader, answers, metrics and prompts live in this folder."""
from ...registry import TASKS
from .task import RelationOptions, RelationTask

__all__ = ["RelationOptions", "RelationTask"]

TASKS.register("relation", RelationTask())
