"""Answering one question about one image with a loaded LLaVA model (greedy by default): batched
generation (`batch_generation.generate_answers`) with a batch of one, so a single answer and a
batch's answers come from the same code."""
from __future__ import annotations

from socialfusion_plugin.host.llava.inference.batch_generation import generate_answers


def answer_question(loaded, image, question: str, conv_mode: str = "v1", max_new_tokens: int = 32,
                    temperature: float = 0.0, seed: int = 0) -> str:
    """`image` is a PIL image; `question` has no <image> token (the prompt puts it first)."""
    return generate_answers(loaded, [question], [image], conv_mode=conv_mode, max_new_tokens=max_new_tokens,
                            temperature=temperature, seed=seed)[0]
