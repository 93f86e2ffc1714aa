"""Kept so that `from socialfusion_plugin.tasks.boxes import union_box` keeps working; every box
helper lives in `tasks/geometry.py`."""
from .geometry import union_box

__all__ = ["union_box"]
