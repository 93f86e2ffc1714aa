"""`gaze`: GazeFollow gaze-target points (reader, answers, metrics)."""
from ...registry import TASKS
from .task import GazeFollowTask

TASKS.register("gaze", GazeFollowTask())
