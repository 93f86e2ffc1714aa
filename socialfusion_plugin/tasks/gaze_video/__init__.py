"""`gaze_video`: VideoAttentionTarget gaze points and in/out of frame (reader, answers, metrics)."""
from ...registry import TASKS
from .task import VideoAttentionTargetTask

TASKS.register("gaze_video", VideoAttentionTargetTask())
