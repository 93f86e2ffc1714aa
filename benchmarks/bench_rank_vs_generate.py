"""Closed-set ranking (one prompt pass per batch + cached option passes) vs per-sample greedy
generation, on a tiny random LLaVA model built offline. Prints samples/s of each and the ratio.

    python benchmarks/bench_rank_vs_generate.py [--samples 64] [--labels 34] [--batch-size 16]
        [--hidden 256] [--layers 4] [--device cpu]

Generation is given max_new_tokens = the longest option's token count, i.e. the least it needs to
write any label; a random model never stops early, which is also what a long answer costs.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--labels", type=int, default=34, help="number of options (HaGRIDv2 has 34)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--tiny-vocabulary", action="store_true",
        help="keep the 400-piece demo tokenizer, which splits label names into up to 11 pieces; by default the "
        "benchmark tokenizer also learns the label names (1-5 pieces each, about what LLaMA's 32k vocabulary gives)",
    )
    args = parser.parse_args()

    import torch
    from PIL import Image

    from socialfusion_plugin import registry
    from socialfusion_plugin.demo.tiny_assets import build_tiny_llm, build_tiny_tower
    from socialfusion_plugin.host.batch_generation import generate_answers
    from socialfusion_plugin.host.model_factory import ModelSpec, build_model
    from socialfusion_plugin.host.option_ranking import option_token_ids, rank_options

    work = Path(tempfile.mkdtemp(prefix="bench-rank-"))
    gesture = registry.TASKS.get("gesture")
    label_text = " ".join(gesture.label_names(gesture.options()))
    vocabulary = {} if args.tiny_vocabulary else {"extra_texts": [label_text] * 20, "vocab_size": 1000}
    llm = build_tiny_llm(work / "llm", seed=0, hidden_size=args.hidden, layers=args.layers, **vocabulary)
    arch, weights = build_tiny_tower(work / "tower", seed=0)
    built = build_model(ModelSpec(str(llm), f"open_clip:{arch}@{weights}", lora=False))
    built.model.to(args.device).eval()
    built.model.config.use_cache = True
    loaded = SimpleNamespace(model=built.model, tokenizer=built.tokenizer, image_processor=built.image_processor)
    labels = list(gesture.rank_options(gesture.options()).items())[: args.labels]
    options = option_token_ids(loaded.tokenizer, dict(labels))
    longest = max(len(ids) for ids in options.values())
    question = "<image>\nWhich gesture is shown? Answer with the gesture name."
    images = [Image.new("RGB", (40, 40), ((37 * i) % 255, (91 * i) % 255, (53 * i) % 255)) for i in range(args.samples)]

    def timed(fn):
        fn(images[:2])  # warm-up
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn(images)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - start

    def per_sample_generation(batch):
        for image in batch:
            generate_answers(loaded, [question], [image], max_new_tokens=longest)

    def batched_generation(batch):
        for s in range(0, len(batch), args.batch_size):
            part = batch[s: s + args.batch_size]
            generate_answers(loaded, [question] * len(part), part, max_new_tokens=longest)

    def ranking(batch):
        for s in range(0, len(batch), args.batch_size):
            part = batch[s: s + args.batch_size]
            rank_options(loaded, [question] * len(part), part, options)

    t_single = timed(per_sample_generation)
    t_batched = timed(batched_generation)
    t_rank = timed(ranking)
    n = args.samples
    print(f"model: LLaMA hidden {args.hidden}, {args.layers} layers; tower 32 px / patch 8; device {args.device}; "
          f"torch threads {torch.get_num_threads()}")
    print(f"{n} samples, {len(options)} options (longest {longest} tokens), batch size {args.batch_size}")
    print(f"per-sample greedy generation: {t_single:.2f} s ({n / t_single:.1f} samples/s)")
    print(f"batched greedy generation:    {t_batched:.2f} s ({n / t_batched:.1f} samples/s)")
    print(f"rank (all {len(options)} options):  {t_rank:.2f} s ({n / t_rank:.1f} samples/s)")
    print(f"speed ratio rank / per-sample generation: {t_single / t_rank:.1f}x; "
          f"rank / batched generation: {t_batched / t_rank:.1f}x")


if __name__ == "__main__":
    main()
