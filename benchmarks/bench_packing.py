"""Benchmark: what `--pack_sequences` saves on a mixture shaped like data_recipes/social5_general.yaml.

Lengths are spliced lengths, what the language model sees: text tokens with the `<image>` token
replaced by the image's visual tokens (576 for a ViT-L/14-336 tower, 144 with the
`avgpool2x2_mlp2x_gelu` connector), truncated to --model_max_length as LLaVA truncates.
- social records (the five tasks): one image, the v1 system prompt, a task question of 15-80 tokens,
  an answer of 2-20 tokens;
- general records: generated like llava_v1_5_mix665k.json (as benchmarks/bench_data_general_json.py
  generates it: 1-5 turns, questions of 6-20 words, answers of 3-90 words, 94% with an image;
  1.3 tokens per word); `general_scale` 3 makes the turns 3x longer, closer to the real mix665k;
- the mixture: --general-share of the records are general (default 0.12: the recipe's 20% of
  mix665k, ~133K records, next to ~1M social records in a temperature-balanced pool).

For each case it prints, as JSON:
- padding: the share of token positions that are padding, over --padding-batches random batches of
  --batch-size (the trainer's batches without --group_by_modality_length): unpacked (each batch
  padded to its longest sample); packed as --pack_sequences lays it out with per-sample attention
  (planned rows of up to --model_max_length laid end to end); packed in rows padded to the longest
  row (the block-diagonal-mask fallback); and samples per planned row;
- speed: useful (non-padding) tokens per second of a training step (forward + backward, LoRA on
  every linear layer, gradient into the spliced embeddings as into the connector) of a random
  Llama, unpacked vs packed on the same batches, interleaved (ABBA...), with the median ratio over
  --repeats. The vision tower is not run: its cost is the same either way. The packed step
  includes the packing itself and goes through the plugin's own packed forward inputs
  (per-sample attention, or with --block-mask the block-diagonal-mask fallback);
- peak memory of a step: on CUDA, torch's peak allocation, the largest over the batches; on a CPU,
  the largest growth of resident memory during a step (sampled), in a fresh process per mode.
The timed batches are those whose unpacked padding is closest to the median of all drawn batches.

    python benchmarks/bench_packing.py                              # tiny model on the CPU, sdpa
    python benchmarks/bench_packing.py --model 7b --device cuda --dtype bfloat16 \\
        --attn_implementation flash_attention_2                    # on a GPU
"""
from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, List
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from socialfusion_plugin.host.llava.packing.packing import IGNORE_INDEX, plan_rows  # noqa: E402

SYSTEM_TOKENS = 36  # BOS + the v1 system prompt
TURN_TOKENS = 8  # " USER: ", " ASSISTANT: ", "</s>"
TOKENS_PER_WORD = 1.3


def social_sample(rng: random.Random, visual: int):
    question, answer = rng.randint(15, 80), rng.randint(2, 20)
    prompt = SYSTEM_TOKENS + TURN_TOKENS + question - 1 + visual  # `<image>` -> visual tokens
    return prompt, answer


def general_sample(rng: random.Random, visual: int, scale: float):
    """(prompt, answer) tokens; the replies are all trained, counted together at the end of the
    sample (where label positions sit does not change what a step costs)."""
    prompt, answers = SYSTEM_TOKENS, 0
    for _ in range(rng.choice((1, 1, 2, 3, 5))):
        prompt += TURN_TOKENS + round(rng.randint(6, 20) * TOKENS_PER_WORD * scale)
        answers += round(rng.randint(3, 90) * TOKENS_PER_WORD * scale)
    if rng.random() < 0.94:
        prompt += visual - 1  # `<image>` -> visual tokens
    return prompt, answers


def draw_lengths(rng: random.Random, count: int, visual: int, scale: float, general_share: float,
                 max_length: int) -> List[tuple]:
    """(prompt tokens, answer tokens) per sample, truncated to max_length in total."""
    samples = []
    for _ in range(count):
        if rng.random() < general_share:
            prompt, answer = general_sample(rng, visual, scale)
        else:
            prompt, answer = social_sample(rng, visual)
        total = min(prompt + answer, max_length)
        samples.append((min(prompt, total), total - min(prompt, total)))
    return samples


def padding_figures(batches: List[List[int]], max_length: int, flash: bool = False) -> Dict[str, float]:
    """padding_packed: the planned rows laid end to end, as packing lays them where attention is per
    sample (sdpa, eager, flash_attention_2; FlashAttention keeps one padding position);
    padding_packed_rows: rows padded to the longest, the block-diagonal-mask fallback's layout."""
    real = unpacked = end_to_end = packed_rows = rows = samples = 0
    for lengths in batches:
        real += sum(lengths)
        unpacked += len(lengths) * max(lengths)
        plan = plan_rows(lengths, max_length)
        rows += len(plan)
        samples += len(lengths)
        packed_rows += len(plan) * max(sum(lengths[i] for i in row) for row in plan)
        end_to_end += sum(lengths) + (1 if flash else 0)
    return {"padding_unpacked": round(1 - real / unpacked, 4), "padding_packed": round(1 - real / end_to_end, 4),
            "padding_packed_rows": round(1 - real / packed_rows, 4),
            "samples_per_row": round(samples / rows, 2), "rows_per_batch": round(rows / len(batches), 2)}


# ---- the timed training step -------------------------------------------------------------------

MODELS = {
    # a tiny Llama whose logits layer (run over every position, as in LLaVA) costs about as much per
    # position as its two decoder layers; a full 32000-entry vocabulary would make the step mostly
    # logits on a CPU, while in a 7B model they are a small part of it
    "tiny": dict(hidden_size=128, intermediate_size=344, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=4, vocab_size=4096),
    "7b": dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
               num_key_value_heads=32, vocab_size=32000),
}


def build_model(args):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    shape = dict(MODELS[args.model])
    if args.layers:
        shape["num_hidden_layers"] = args.layers
    config = LlamaConfig(max_position_embeddings=max(4096, args.model_max_length), **shape)
    config._attn_implementation = args.attn_implementation
    dtype = getattr(torch, args.dtype)
    torch.manual_seed(0)
    with torch.device(args.device):
        model = LlamaForCausalLM._from_config(config, attn_implementation=args.attn_implementation, torch_dtype=dtype)
    model.config.use_cache = False
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    lora = LoraConfig(r=args.lora_r, lora_alpha=2 * args.lora_r, target_modules=targets, lora_dropout=0.0,
                      task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


def make_batch(samples, hidden: int, dtype, device, seed: int):
    """A spliced batch as LLaVA's prepare_inputs_labels_for_multimodal returns it (right padding)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    width = max(p + a for p, a in samples)
    embeds = torch.zeros((len(samples), width, hidden))
    labels = torch.full((len(samples), width), IGNORE_INDEX, dtype=torch.long)
    real = torch.zeros((len(samples), width), dtype=torch.bool)
    for b, (prompt, answer) in enumerate(samples):
        n = prompt + answer
        embeds[b, :n] = torch.randn((n, hidden), generator=generator) * 0.02
        labels[b, prompt:n] = torch.randint(3, 4096, (answer,), generator=generator)
        real[b, :n] = True
    return embeds.to(device=device, dtype=dtype), labels.to(device), real.to(device)


def train_step(model, batch, packed: bool, max_length: int, block_mask: bool = False):
    """One forward + backward; the number of positions computed."""
    import torch

    from socialfusion_plugin.host.llava.packing import packing

    embeds, labels, real = batch
    embeds = embeds.detach().requires_grad_(True)  # the connector's output: gradient flows into it
    if packed:
        # what --pack_sequences does; block_mask: what it does where per-sample attention cannot run
        no_per_sample = mock.patch.object(packing, "per_sample_attention_ready", lambda model: False)
        with no_per_sample if block_mask else contextlib.nullcontext():
            layout, inputs = packing.packed_language_inputs(model, embeds, labels, real, max_length)
        out = model(**inputs)
        positions = layout.segment_ids.numel()
    else:
        out = model(inputs_embeds=embeds, attention_mask=real.long(), labels=labels)
        positions = real.numel()
    out.loss.backward()
    model.zero_grad(set_to_none=True)
    if embeds.is_cuda:
        torch.cuda.synchronize()
    return positions


def timed_case(model, args, batches) -> Dict[str, object]:
    import torch

    useful = sum(int(batch[2].sum()) for batch in batches)
    for batch in batches:  # warm-up, every batch in both modes: first shapes cost kernel and allocator set-up
        train_step(model, batch, False, args.model_max_length)
        train_step(model, batch, True, args.model_max_length, args.block_mask)
    rates: Dict[str, List[float]] = {"unpacked": [], "packed": []}
    peaks: Dict[str, List[float]] = {"unpacked": [], "packed": []}
    for repeat in range(args.repeats):
        order = ("unpacked", "packed") if repeat % 2 == 0 else ("packed", "unpacked")  # ABBA
        for mode in order:
            start = time.perf_counter()
            for batch in batches:
                if torch.cuda.is_available() and batch[0].is_cuda:
                    torch.cuda.reset_peak_memory_stats()
                train_step(model, batch, mode == "packed", args.model_max_length, args.block_mask)
                if batch[0].is_cuda:
                    peaks[mode].append(torch.cuda.max_memory_allocated() / 2**20)
            rates[mode].append(useful / (time.perf_counter() - start))
    ratios = [p / u for p, u in zip(rates["packed"], rates["unpacked"])]
    result = {"useful_tokens_per_s_unpacked": round(statistics.median(rates["unpacked"]), 1),
              "useful_tokens_per_s_packed": round(statistics.median(rates["packed"]), 1),
              "speedup_ratios": [round(r, 3) for r in ratios],
              "median_speedup": round(statistics.median(ratios), 3)}
    if peaks["packed"]:
        result["peak_step_mib_unpacked"] = round(max(peaks["unpacked"]), 1)
        result["peak_step_mib_packed"] = round(max(peaks["packed"]), 1)
    return result


def install_packing_attention() -> None:
    """What --pack_sequences installs: per-sample attention for sdpa/eager, FlashAttention unpadding."""
    from socialfusion_plugin.host.llava.packing.packed_attention import (install_flash_attention_unpadding,
                                                                        install_per_sample_attention)

    install_flash_attention_unpadding()
    install_per_sample_attention()


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _memory_child(args, samples_per_batch, packed, queue):
    import threading

    import torch

    model = build_model(args)
    batches = [make_batch(s, MODELS[args.model]["hidden_size"], getattr(torch, args.dtype), args.device, seed=i)
               for i, s in enumerate(samples_per_batch)]
    install_packing_attention()
    growth = 0.0
    for batch in batches:
        before, peak, running = rss_mib(), [0.0], [True]

        def sample():
            while running[0]:
                peak[0] = max(peak[0], rss_mib())
                time.sleep(0.002)

        sampler = threading.Thread(target=sample)
        sampler.start()
        train_step(model, batch, packed, args.model_max_length, args.block_mask)
        running[0] = False
        sampler.join()
        growth = max(growth, peak[0] - before)
    queue.put(growth)


def cpu_peak_memory(args, samples_per_batch) -> Dict[str, float]:
    """Largest growth of resident memory during a step over the RSS before it, in a fresh process
    per mode (MiB; sampled every 2 ms)."""
    context = multiprocessing.get_context("spawn")
    figures = {}
    for mode in ("unpacked", "packed"):
        queue = context.Queue()
        child = context.Process(target=_memory_child, args=(args, samples_per_batch, mode == "packed", queue))
        child.start()
        figures[f"peak_step_mib_{mode}"] = round(queue.get(), 1)
        child.join()
    return figures


def representative(draws: List[List[tuple]], count: int) -> List[List[tuple]]:
    """The `count` batches whose unpacked padding share is closest to the median over all draws, so
    a few timed batches stand for the distribution rather than for their luck."""
    def padding(batch):
        lengths = [p + a for p, a in batch]
        return 1 - sum(lengths) / (len(lengths) * max(lengths))

    median = statistics.median(padding(batch) for batch in draws)
    ranked = sorted(range(len(draws)), key=lambda i: (abs(padding(draws[i]) - median), i))
    return [draws[i] for i in ranked[:count]]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visual-tokens", type=int, nargs="+", default=[576, 144])
    parser.add_argument("--general-scale", type=float, nargs="+", default=[1.0, 3.0])
    parser.add_argument("--general-share", type=float, default=0.12)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--model_max_length", "--model-max-length", type=int, default=2048)
    parser.add_argument("--padding-batches", type=int, default=2000)
    parser.add_argument("--timed-batches", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--no-timing", action="store_true", help="padding figures only")
    parser.add_argument("--model", choices=sorted(MODELS), default="tiny")
    parser.add_argument("--layers", type=int, default=0, help="override the model's layer count")
    parser.add_argument("--lora-r", type=int, default=8)
    parser.add_argument("--attn_implementation", "--attn-implementation", default="sdpa",
                        choices=["eager", "sdpa", "flash_attention_2"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--block-mask", action="store_true",
                        help="packed steps through the block-diagonal-mask fallback (rows padded to the longest, a "
                             "length x length mask) instead of per-sample attention")
    args = parser.parse_args(argv)

    import torch

    flash = args.attn_implementation == "flash_attention_2"
    install_packing_attention()
    report = {"model": args.model, "shape": dict(MODELS[args.model], **({"num_hidden_layers": args.layers}
                                                                     if args.layers else {})),
              "attn_implementation": args.attn_implementation, "device": args.device, "dtype": args.dtype,
              "packed_attention": "block-diagonal mask" if args.block_mask else "per sample",
              "torch": torch.__version__, "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
              "batch_size": args.batch_size, "model_max_length": args.model_max_length,
              "general_share": args.general_share, "cases": []}
    model = None if args.no_timing else build_model(args)
    for visual in args.visual_tokens:
        for scale in args.general_scale:
            rng = random.Random(f"{args.seed}:{visual}:{scale}")
            draws = [draw_lengths(rng, args.batch_size, visual, scale, args.general_share, args.model_max_length)
                     for _ in range(args.padding_batches)]
            case = {"visual_tokens": visual, "general_scale": scale,
                    **padding_figures([[p + a for p, a in batch] for batch in draws], args.model_max_length, flash)}
            if model is not None:
                timed = representative(draws, args.timed_batches)
                batches = [make_batch(s, MODELS[args.model]["hidden_size"], getattr(torch, args.dtype), args.device,
                                      seed=i) for i, s in enumerate(timed)]
                case["timed_padding"] = padding_figures([[p + a for p, a in b] for b in timed],
                                                        args.model_max_length, flash)
                case.update(timed_case(model, args, batches))
                if args.device == "cpu":
                    case.update(cpu_peak_memory(args, timed))
            report["cases"].append(case)
            print(json.dumps(case), file=sys.stderr, flush=True)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
