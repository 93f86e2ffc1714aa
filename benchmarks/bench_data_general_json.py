"""Benchmark: what the Arrow cache (Hugging Face `datasets`) buys for LLaVA-scale general data.

Generates a LLaVA-format JSON shaped like llava_v1_5_mix665k.json (default 665,000 records, 2-10
turns, ~6% text-only), then measures, each step in a fresh process (so peak memory is its own):

  1. LLaVA's way: `json.load` the file (what LazySupervisedDataset does in EVERY rank), compute
     modality_lengths, read 10,000 random records;
  2. building the cache once: streaming the JSON into Arrow (`socialfusion mix` / `--data_recipe`,
     first run);
  3. a training process with a warm cache: memory-map the Arrow table, build the mixture (all records,
     shuffled), compute modality_lengths from the cached columns, read 10,000 random records.

Memory is reported as the growth of the process's anonymous memory (heap: "Anonymous" in
/proc/self/smaps_rollup) over its state after imports, which every rank pays for itself, plus RSS.
RSS also counts the memory-mapped Arrow pages a process touched: those are file-backed, shared by
all ranks of a node through the page cache, and reclaimable.

    python benchmarks/bench_data_general_json.py [--records N] [--workdir DIR]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import shutil
import tempfile
import time
from pathlib import Path

WORDS = ("the a person image shows what is on table left right red blue man woman sitting standing "
         "describe detail color number two three where why how picture background street car dog cat").split()


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def generate(path: Path, records: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    encoder = json.JSONEncoder(ensure_ascii=False)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("[")
        for index in range(records):
            turns = []
            for turn in range(rng.choice((1, 1, 2, 3, 5))):
                question = sentence(rng, rng.randint(6, 20))
                turns.append({"from": "human", "value": ("<image>\n" + question) if turn == 0 else question})
                turns.append({"from": "gpt", "value": sentence(rng, rng.randint(3, 90))})
            record = {"id": f"{index:012d}", "conversations": turns}
            if rng.random() < 0.94:
                record["image"] = f"coco/train2017/{index:012d}.jpg"
            else:
                turns[0]["value"] = turns[0]["value"].replace("<image>\n", "")
            handle.write(("\n" if index == 0 else ",\n") + encoder.encode(record))
        handle.write("\n]\n")


def memory_mib() -> dict:
    values = {}
    with open("/proc/self/smaps_rollup") as handle:
        for line in handle:
            name, _, rest = line.partition(":")
            if name in ("Rss", "Anonymous"):
                values[name] = int(rest.split()[0]) / 1024
    return {"rss": values["Rss"], "private": values["Anonymous"]}


def peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _llava_way(path: str, queue) -> None:
    import numpy  # noqa: F401  (same import baseline as the cached path)

    before = memory_mib()
    began = time.perf_counter()
    data = json.load(open(path, "r"))
    loaded = time.perf_counter() - began
    lengths = [sum(len(c["value"].split()) for c in s["conversations"]) * (1 if "image" in s else -1) for s in data]
    indices = random.Random(1).sample(range(len(data)), 10_000)
    began_access = time.perf_counter()
    for index in indices:
        _ = data[index]["conversations"]
    access = time.perf_counter() - began_access
    after = memory_mib()
    queue.put({"records": len(data), "load_s": loaded, "lengths_s": time.perf_counter() - began - loaded - access,
               "access_10k_s": access, "private_mib": after["private"] - before["private"],
               "rss_mib": after["rss"] - before["rss"], "peak_rss_mib": peak_rss_mib(), "checksum": sum(lengths)})


def _source_spec(path: str):
    from socialfusion_plugin.data.recipe import SourceSpec, Strategy

    return SourceSpec(name="general", kind="json", path=Path(path), image_folder=Path(path).parent,
                      strategy=Strategy("all"))


def _build_cache(path: str, cache: str, queue) -> None:
    import datasets  # noqa: F401  (imports are not the data's memory)

    from socialfusion_plugin.data.source_cache import load_source

    before = memory_mib()
    began = time.perf_counter()
    source = load_source(_source_spec(path), seed=0, cache_dir=Path(cache), progress=False)
    after = memory_mib()
    queue.put({"records": len(source), "build_s": time.perf_counter() - began,
               "private_mib": after["private"] - before["private"], "peak_rss_mib": peak_rss_mib()})


def _warm_cache(path: str, cache: str, queue) -> None:
    from socialfusion_plugin.data.mixture import build_mixture
    from socialfusion_plugin.data.recipe import DataRecipe

    import datasets  # noqa: F401  (imports are not the data's memory)
    import pyarrow  # noqa: F401

    recipe = DataRecipe(path=Path("bench.yaml"), seed=0, sources=[_source_spec(path)])
    before = memory_mib()
    began = time.perf_counter()
    mixture = build_mixture(recipe, cache_dir=Path(cache), progress=False)
    loaded = time.perf_counter() - began
    began_lengths = time.perf_counter()
    lengths = [int(w) if image else -int(w) for w, image in zip(mixture.words, mixture.has_image)]
    lengths_s = time.perf_counter() - began_lengths
    indices = random.Random(1).sample(range(len(mixture)), 10_000)
    began_access = time.perf_counter()
    for index in indices:
        _ = mixture.record(index)["conversations"]
    access = time.perf_counter() - began_access
    after = memory_mib()
    queue.put({"records": len(mixture), "load_s": loaded, "lengths_s": lengths_s, "access_10k_s": access,
               "private_mib": after["private"] - before["private"], "rss_mib": after["rss"] - before["rss"],
               "peak_rss_mib": peak_rss_mib(), "checksum": sum(lengths)})


def in_child(target, *args) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=target, args=(*args, queue))
    child.start()
    result = queue.get()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"{target.__name__} failed (exit {child.exitcode})")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=665_000)
    parser.add_argument("--workdir", type=Path, help="where to generate (default: a temporary folder, removed afterwards)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-general-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        path = workdir / "general.json"
        began = time.perf_counter()
        generate(path, args.records)
        print(f"generated {args.records:,} records, {path.stat().st_size / 2**20:,.0f} MiB, "
              f"in {time.perf_counter() - began:.1f} s")
        llava = in_child(_llava_way, str(path))
        print(f"LLaVA json.load:    load {llava['load_s']:.1f} s, modality_lengths {llava['lengths_s']:.1f} s, "
              f"10k random records {llava['access_10k_s'] * 1000:.0f} ms; heap +{llava['private_mib']:,.0f} MiB "
              f"(RSS +{llava['rss_mib']:,.0f} MiB, peak RSS {llava['peak_rss_mib']:,.0f} MiB) per process")
        build = in_child(_build_cache, str(path), str(workdir / "cache"))
        print(f"Arrow cache, build: {build['build_s']:.1f} s once (streamed), heap "
              f"+{build['private_mib']:,.0f} MiB, peak RSS {build['peak_rss_mib']:,.0f} MiB")
        warm = in_child(_warm_cache, str(path), str(workdir / "cache"))
        print(f"Arrow cache, warm:  load + mixture {warm['load_s']:.1f} s, modality_lengths {warm['lengths_s']:.1f} s, "
              f"10k random records {warm['access_10k_s'] * 1000:.0f} ms; heap +{warm['private_mib']:,.0f} MiB "
              f"(RSS +{warm['rss_mib']:,.0f} MiB incl. shared mapped pages, peak RSS {warm['peak_rss_mib']:,.0f} MiB) "
              "per process")
        assert llava["checksum"] == warm["checksum"] and llava["records"] == warm["records"], "lengths differ"
        print("modality_lengths identical (checksum match)")
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
