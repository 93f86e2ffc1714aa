"""Gradient conflict between tasks (the paper's compatibility lens): a diagnostic, not a training
mode. Per-task gradients on the trainable parameters (connector + LoRA), averaged over K batches,
compared pairwise by cosine similarity, overall and per parameter group."""
