"""The two calls an evaluation makes into a loaded model, bound to the run's decoding settings:
`generate` (free answers) and, for tasks with a closed answer set, `rank` (scores every option).
`eval` and `eval-suite` both take them from here, so they decode alike."""
from __future__ import annotations

from functools import partial

from ..host_interface import InferenceHost


def model_calls(host: InferenceHost, loaded, conv_mode: str, max_new_tokens: int, temperature: float, seed: int,
                policy):
    """(generate, rank); rank is None when `policy` is None (free-answer evaluation)."""
    generate = partial(host.generate, loaded, conv_mode=conv_mode, max_new_tokens=max_new_tokens,
                       temperature=temperature, seed=seed)
    rank = None
    if policy is not None:
        rank = host.option_loglikelihoods(loaded, policy.options, conv_mode, complete=policy.complete)
    return generate, rank
