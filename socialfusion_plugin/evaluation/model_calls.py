"""The two calls an evaluation makes into a loaded model, bound to the run's decoding settings:
`generate` (free answers) and, for tasks with a closed answer set, `rank` (scores every option).
`eval` and `eval-suite` both take them from here, so they decode alike."""
from __future__ import annotations

from functools import partial


def model_calls(loaded, conv_mode: str, max_new_tokens: int, temperature: float, seed: int, policy):
    """(generate, rank); rank is None when `policy` is None (free-answer evaluation)."""
    from ..host_interface import active_host

    host = active_host()
    generate = partial(host.generate, loaded, conv_mode=conv_mode, max_new_tokens=max_new_tokens,
                       temperature=temperature, seed=seed)
    rank = None
    if policy is not None:
        option_ids = host.option_token_ids(loaded, policy.options, conv_mode, complete=policy.complete)
        rank = partial(host.rank_options, loaded, option_ids=option_ids, conv_mode=conv_mode)
    return generate, rank
