"""Diagnosing social degradation (issue #6), the paper's two lenses:

- decodability (`probe`): how well a linear probe reads each social task from FROZEN visual
  features of one or more encoders (open_clip towers; Hugging Face CLIP and SigLIP towers, alone or
  inside a VLM checkpoint);
- compatibility (`conflict`): cosine similarity between per-task gradients on the trainable
  parameters (connector + LoRA) of a LLaVA model.

Nothing here imports LLaVA: the conflict diagnostic gets its model and batches through `host/`.
"""
