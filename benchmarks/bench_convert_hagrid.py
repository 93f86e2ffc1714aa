"""Benchmark: `socialfusion convert gesture` on a generated HaGRIDv2-format release.

Generates annotation files in the real format (default 1,000,000 records across the 34 classes,
with hand landmarks and meta like the real files), then times the conversion end to end, each run
in a fresh process so its peak RSS is its own:

  1. all records with check_images=false (annotations only);
  2. a smaller release (default 20,000 records) whose images exist as empty .jpg files, with the
     default check_images=true (one cached directory listing per class folder).

    python benchmarks/bench_convert_hagrid.py [--records N] [--image-records M] [--workers W] [--workdir DIR]

The annotations-only run is timed with 1 and with W worker processes (`convert --workers`); the
sha256 printed for each output shows they are byte-identical.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import shutil
import tempfile
import time
from pathlib import Path

LABELS = (
    "grabbing", "grip", "holy", "point", "call", "three3", "timeout", "xsign", "hand_heart", "hand_heart2",
    "little_finger", "middle_finger", "take_picture", "dislike", "fist", "four", "like", "mute", "ok", "one",
    "palm", "peace", "peace_inverted", "rock", "stop", "stop_inverted", "three", "three2", "two_up",
    "two_up_inverted", "three_gun", "thumb_index", "thumb_index2", "no_gesture",
)
TWO_HANDED = {"hand_heart", "hand_heart2", "thumb_index2", "timeout", "holy", "take_picture", "xsign"}


def record_body(label: str) -> str:
    """One realistic annotation record (JSON text) for an image of class `label`."""
    landmarks = [[round(0.3 + 0.01 * k, 6), round(0.4 + 0.005 * k, 6)] for k in range(21)]
    if label in TWO_HANDED:
        record = {
            "bboxes": [[0.31, 0.42, 0.11, 0.17], [0.52, 0.41, 0.12, 0.18]],
            "labels": [label, label],
            "united_bbox": [[0.31, 0.41, 0.33, 0.19]],
            "united_label": [label],
            "hand_landmarks": [landmarks, landmarks],
        }
    elif label == "no_gesture":
        record = {"bboxes": [[0.31, 0.42, 0.11, 0.17]], "labels": ["no_gesture"], "united_bbox": None,
                  "united_label": None, "hand_landmarks": [landmarks]}
    else:
        record = {
            "bboxes": [[0.31, 0.42, 0.11, 0.17], [0.62, 0.71, 0.09, 0.12]],
            "labels": [label, "no_gesture"],
            "united_bbox": [None, None],
            "united_label": [None, None],
            "hand_landmarks": [landmarks, []],
        }
    record["user_id"] = "5a0a1b0c4d9e8f7a6b5c4d3e2f1a0b9c"
    record["meta"] = {"age": [31.2], "gender": ["female"], "race": ["White"]}
    return json.dumps(record)


def image_id(index: int) -> str:
    return f"{index:08x}-1f2e-4d3c-8b4a-{index:012x}"


def generate(root: Path, records: int, split: str = "train", with_images: bool = False) -> None:
    """Class files hagrid_annotations/<split>/<class>.json, written record by record."""
    annotation_dir = root / "hagrid_annotations" / split
    annotation_dir.mkdir(parents=True, exist_ok=True)
    per_class = [records // len(LABELS) + (1 if k < records % len(LABELS) else 0) for k in range(len(LABELS))]
    start = 0
    for label, count in zip(LABELS, per_class):
        body = record_body(label)
        image_dir = root / "hagrid_dataset" / label
        image_dir.mkdir(parents=True, exist_ok=True)
        with open(annotation_dir / f"{label}.json", "w", encoding="utf-8") as handle:
            handle.write("{")
            for index in range(start, start + count):
                handle.write(("," if index > start else "") + f'\n"{image_id(index)}": {body}')
                if with_images:
                    (image_dir / f"{image_id(index)}.jpg").touch()
            handle.write("\n}\n")
        start += count


def _convert_in_child(root: str, out: str, options: dict, workers: int, queue) -> None:
    from socialfusion_plugin.registry import TASKS
    from socialfusion_plugin.tasks.conversion import convert

    began = time.perf_counter()
    report = convert(TASKS.get("gesture"), Path(root), "train", Path(out), options=options, progress=False,
                     workers=workers)
    wall = time.perf_counter() - began
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    queue.put({"read": report.read, "converted": report.converted, "wall_s": wall, "peak_rss_mib": peak_mib})


def measure(root: Path, options: dict, workers: int = 1) -> dict:
    context = multiprocessing.get_context("spawn")  # a fresh process: its peak RSS is the conversion's alone
    queue = context.Queue()
    out = root / "converted.json"
    child = context.Process(target=_convert_in_child, args=(str(root), str(out), options, workers, queue))
    child.start()
    result = queue.get()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"conversion failed in the child process (exit {child.exitcode})")
    result["output_mib"] = out.stat().st_size / 2**20
    result["sha256"] = _sha256(out)
    result["workers"] = workers
    return result


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def report_line(name: str, result: dict) -> str:
    rate = result["read"] / result["wall_s"]
    return (
        f"{name}: {result['read']:,} records ({result['converted']:,} converted) in {result['wall_s']:.1f} s "
        f"= {rate:,.0f} records/s, {result['workers']} worker(s), peak RSS of the main process "
        f"{result['peak_rss_mib']:.0f} MiB, output {result['output_mib']:.0f} MiB (sha256 {result['sha256']})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000, help="records for the annotations-only run")
    parser.add_argument("--image-records", type=int, default=20_000, help="records (and empty images) for the run with image checks")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for the parallel runs")
    parser.add_argument("--workdir", type=Path, help="where to generate (default: a temporary folder, removed afterwards)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_hagrid_"))
    try:
        big, small = workdir / "annotations_only", workdir / "with_images"
        began = time.perf_counter()
        generate(big, args.records)
        size = sum(p.stat().st_size for p in (big / "hagrid_annotations" / "train").iterdir()) / 2**20
        print(f"generated {args.records:,} records ({size:.0f} MiB of annotations) in {time.perf_counter() - began:.1f} s")
        for workers in (1, args.workers):
            print(report_line("check_images=false", measure(big, {"check_images": False}, workers)))
        generate(small, args.image_records, with_images=True)
        print(report_line("check_images=true ", measure(small, {"check_images": True}, args.workers)))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
