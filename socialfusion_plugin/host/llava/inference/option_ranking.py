"""Closed-set ranking: the log-likelihood of every answer option, reusing the prompt's KV cache.

Per batch of samples, the image + prompt go through the model ONCE (left padded, as in batched
generation); the log-probabilities of each option's first token come from that pass. Then ALL
options run together in one more pass on top of that cached prompt (packed as a prefix tree into
one sequence, see _score_packed_options): the cost per option is its own few tokens, not the ~600
image + prompt tokens again, shared prefixes run once, and per-option overhead disappears.

An option is scored in one of two ways (`complete`):
- True: the option is a whole answer; its tokens include the template's end-of-answer separator
  (`</s>` for v1), so "no" cannot win by being a prefix of "no relation";
- False: the option is the start of an answer (a prefix); the score is the probability that the
  answer begins with it, whatever follows.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Sequence

from socialfusion_plugin.errors import UserInputError
from socialfusion_plugin.host.llava.inference.eval_inputs import (left_padded_prompts, padding_side, prompt_ids,
                                                                  prompt_text)

# Any question works to find the option tokens: every prompt ends with the same assistant header.
_PROBE_QUESTION = "question"


def option_token_ids(tokenizer, options: Mapping[str, str], conv_mode: str = "v1",
                     complete: bool = True) -> Dict[str, List[int]]:
    """label -> the token ids the model would produce for that option right after the prompt,
    found by tokenizing the prompt with and without the answer (so boundary effects of the
    tokenizer are those of training)."""
    prompt = prompt_ids(tokenizer, prompt_text(_PROBE_QUESTION, conv_mode))
    result: Dict[str, List[int]] = {}
    for label, answer in options.items():
        if not isinstance(answer, str) or not answer.strip():
            raise UserInputError(f"rank option {label!r} has an empty answer text")
        full_text = prompt_text(_PROBE_QUESTION, conv_mode, answer=answer)
        if not complete:  # cut right after the answer text: no separator, no end of sequence
            full_text = full_text[: full_text.rindex(answer) + len(answer)]
        full = prompt_ids(tokenizer, full_text)
        if full[: len(prompt)] != prompt or len(full) == len(prompt):
            raise UserInputError(f"rank option {label!r}: the tokenizer merges the answer {answer!r} with the end "
                                 "of the prompt; it cannot be scored as a continuation")
        result[label] = full[len(prompt):]
    return result


def rank_options(loaded, questions: Sequence[str], images: Sequence, option_ids: Mapping[str, List[int]],
                 conv_mode: str = "v1") -> List[Dict[str, float]]:
    """For each (question, image): {label: sum of log-probabilities of the option's tokens}."""
    import torch

    if not (questions or images):
        return []
    labels = list(option_ids)
    model = loaded.model
    ids, mask, pixels, sizes = left_padded_prompts(loaded, questions, images, conv_mode)
    with torch.inference_mode(), padding_side(model, "left"):
        _, _, prompt_mask, _, embeds, _ = model.prepare_inputs_labels_for_multimodal(
            ids.to(model.device), None, mask.to(model.device), None, None, pixels, image_sizes=sizes)
        # position ids 0..len-1 over the real tokens of each row, as generate() computes them
        hidden, cache = _language_model_body(model, inputs_embeds=embeds, attention_mask=prompt_mask,
                                             position_ids=(prompt_mask.long().cumsum(-1) - 1).clamp(min=0))
        first = _log_probabilities(model, hidden[:, -1, :])  # left padded: the last column is real
        prompt_lengths = prompt_mask.long().sum(-1)
        totals = _score_packed_options(model, [option_ids[label] for label in labels], first, cache, prompt_mask,
                                       prompt_lengths)
        return [{label: float(value) for label, value in zip(labels, row)} for row in totals.cpu().tolist()]


def _option_trie(options: Sequence[List[int]]):
    """The tokens to feed for all options, as a prefix tree: node i holds one token and stands for
    the prefix ending with it, so options sharing a prefix ("three", "three2") compute it once.
    Returns (node tokens, node depths, ancestor-or-self matrix, [(option, node, target token)])."""
    nodes, tokens, depths, parents = {}, [], [], []
    picks = []
    for option, ids in enumerate(options):
        for k in range(len(ids) - 1):  # the output at token k predicts token k + 1
            prefix = tuple(ids[: k + 1])
            if prefix not in nodes:
                nodes[prefix] = len(tokens)
                tokens.append(ids[k])
                depths.append(k)
                parents.append(nodes.get(prefix[:-1], -1))
            picks.append((option, nodes[prefix], ids[k + 1]))
    visible = [[False] * len(tokens) for _ in tokens]
    for node in range(len(tokens)):
        ancestor = node
        while ancestor >= 0:
            visible[node][ancestor] = True
            ancestor = parents[ancestor]
    return tokens, depths, visible, picks


def _score_packed_options(model, options: Sequence[List[int]], first, cache, prompt_mask, prompt_lengths):
    """(batch, options) summed log-probabilities, all options in ONE forward pass.

    The options' tokens (all but each option's last) are packed as a prefix tree after the cached
    prompt; a 4D attention mask lets each token see the prompt and its own prefix only, with
    positions counted from the end of the prompt, so every option is scored exactly as if it ran
    alone. The prompt cache is shared (never copied), options are never padded to the longest one,
    and shared prefixes run once."""
    import torch

    device = first.device
    batch, prompt_len = prompt_mask.shape
    first_tokens = torch.tensor([ids[0] for ids in options], device=device)
    totals = first[:, first_tokens]  # the prompt's last position predicts every option's first token
    tokens, depths, visible, picks = _option_trie(options)
    if not tokens:
        return totals
    packed = len(tokens)
    mask = torch.zeros(batch, 1, packed, prompt_len + packed, device=device)
    mask[:, 0, :, :prompt_len] = prompt_mask[:, None, :].to(mask.dtype)
    mask[:, 0, :, prompt_len:] = torch.tensor(visible, device=device).to(mask.dtype)
    positions = prompt_lengths[:, None] + torch.tensor(depths, device=device)[None, :]
    hidden, _ = _language_model_body(model, input_ids=torch.tensor(tokens, device=device).expand(batch, -1),
                                     attention_mask=mask, position_ids=positions, past_key_values=cache)
    logprobs = _log_probabilities(model, hidden)
    owner, node, target = (torch.tensor(column, device=device) for column in zip(*picks))
    picked = logprobs[:, node, target]  # (batch, picks)
    return totals.index_add(1, owner, picked)


def _language_model_body(model, **inputs):
    """(last hidden states, cache as (key, value) per layer) of the language model WITHOUT its
    vocabulary head. `model(...)` would apply the head at every position and copy the result to
    float32: for the prompt pass that is (batch x ~600 positions x 32k) logits of which only the
    last column is read (about 1.2 GB at batch 16). The head runs in _log_probabilities instead,
    only where a log-probability is read. LLaVA's forward adds nothing else here: the image
    features are already in `inputs_embeds`, and without images it passes input_ids through."""
    # use_cache=True: transformers 4.37 only counts the cached prompt's length when it is set
    out = model.get_model()(**inputs, use_cache=True, return_dict=True)
    cache = out.past_key_values  # tuples of (key, value) per layer, whatever the transformers version returns
    return out.last_hidden_state, cache.to_legacy_cache() if hasattr(cache, "to_legacy_cache") else cache


def _log_probabilities(model, hidden):
    """log-softmax over the whole vocabulary at the given positions, in float32 as LLaMA's forward
    computes its logits. Every scored position needs the full normalizer, so the head is not cut to
    the options' tokens: only the positions nothing reads are skipped."""
    import torch

    return torch.log_softmax(model.lm_head(hidden).float(), dim=-1)
