"""Evaluation: predictions for a checkpoint on a converted split (batched generation, or
log-likelihood ranking of closed answer sets), run reports with charts, the forgetting check on
general instruction data, and the single- vs multi-task transfer table.

Nothing here imports LLaVA: the model calls live in `socialfusion_plugin.host` and reach the
runner as plain callables.
"""
