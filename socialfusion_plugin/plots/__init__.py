"""The package's one plotting module: every chart (report, transfer, probe, conflict) is built here
from plain values (labels, values, support, metric name, checkpoint name), returned as a matplotlib
Figure, and written by `save_figure` as a PNG with a PDF copy beside it."""
from .charts import (NA, checkpoint_name, checkpoint_title, confusion_chart, error_distribution, heatmap,
                     heatmap_panels, interval_panels, line_panels, per_class_bars, safe_file_part, save_figure,
                     signed_change_bars)

__all__ = ["NA", "checkpoint_name", "checkpoint_title", "confusion_chart", "error_distribution", "heatmap",
           "heatmap_panels", "interval_panels", "line_panels", "per_class_bars", "safe_file_part", "save_figure",
           "signed_change_bars"]
