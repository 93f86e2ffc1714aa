"""Benchmark: what the converted-source cache saves when a data recipe is run again.

Generates a HaGRIDv2-format release (annotations only, default 300,000 records; the generator of
bench_convert_hagrid.py), then times, each in a fresh process:

  1. a cold run of a one-source recipe (convert + stream into Arrow), as the first `socialfusion mix`
     or the first `--data_recipe` launch does;
  2. a warm run (fingerprint the release, memory-map the cached Arrow table), as every later run and
     every further rank does;
  3. the cost of the release fingerprint itself on a folder of N empty image files (default 200,000),
     since the fingerprint stats every file of the release (HaGRID has ~1.1M images).

    python benchmarks/bench_data_task_cache.py [--records N] [--image-files M] [--workers W] [--workdir DIR]
"""
from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_convert_hagrid import generate  # noqa: E402  (the same generated release as the convert benchmark)


def _load(root: str, cache: str, workers: int, queue) -> None:
    from socialfusion_plugin.data.recipe import SourceSpec, Strategy
    from socialfusion_plugin.data.source_cache import load_source

    spec = SourceSpec(name="gesture", kind="task", path=Path(root), image_folder=Path(root), task="gesture",
                      split="train", options={"check_images": False}, strategy=Strategy("all"))
    began = time.perf_counter()
    source = load_source(spec, seed=0, cache_dir=Path(cache), progress=False, workers=workers)
    queue.put({"records": len(source), "wall_s": time.perf_counter() - began,
               "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def in_child(*args) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_load, args=(*args, queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--image-files", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-task-cache-"))
    try:
        root = workdir / "hagrid"
        generate(root, args.records)
        cold = in_child(str(root), str(workdir / "cache"), args.workers)
        warm = in_child(str(root), str(workdir / "cache"), args.workers)
        print(f"cold (convert + Arrow): {cold['records']:,} records in {cold['wall_s']:.1f} s, "
              f"{args.workers} worker(s), peak RSS {cold['peak_rss_mib']:,.0f} MiB")
        print(f"warm (fingerprint + memory-map): {warm['wall_s']:.2f} s, peak RSS {warm['peak_rss_mib']:,.0f} MiB "
              f"({cold['wall_s'] / warm['wall_s']:.0f}x faster)")
        from socialfusion_plugin.data.source_cache import release_fingerprint

        images = workdir / "images"
        for index in range(args.image_files):
            folder = images / f"c{index % 34:02d}"
            if index < 34:
                folder.mkdir(parents=True)
            (folder / f"{index:08d}.jpg").touch()
        began = time.perf_counter()
        release_fingerprint(images)
        walk = time.perf_counter() - began
        print(f"release fingerprint: {args.image_files:,} files stat'ed in {walk:.2f} s "
              f"({args.image_files / walk:,.0f} files/s, warm file-system cache)")
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
