"""`socialfusion probe --encoders E1 E2 ... --tasks T1 T2 ... --data-root DIR --out DIR`."""
from __future__ import annotations

from pathlib import Path

from ..cache_root import cache_dir
from .main import CommandError
from .options_arg import parse_task_paths

PROBE_CACHE = "probe-features"  # the feature cache's folder under the plugin's cache root


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "probe", help="linear-probe decodability of social tasks from frozen encoders (JSON, Markdown, PNG)",
        description="Fits a linear probe per encoder x layer x pooling x region x task on frozen features of the "
        "train split and scores it on the test split with the task's own metrics. Features are cached.",
    )
    parser.add_argument("--encoders", nargs="+", required=True, metavar="ENCODER",
                        help="open_clip:ARCH@WEIGHTS (as --vision_tower); hf_clip:FOLDER or hf_siglip:FOLDER (a local "
                        "Hugging Face CLIP / SigLIP folder, or a VLM checkpoint with such a tower); hf_vlm:FOLDER (the "
                        "vision tower inside a local VLM checkpoint: LLaVA-1.5-hf, LLaVA-NeXT-hf, LLaVA-OneVision-hf, "
                        "PaliGemma). Local files only")
    parser.add_argument("--tasks", nargs="+", required=True, metavar="TASK", help="registered task names")
    parser.add_argument("--data-root", type=Path, help="data layout root ($SOCIALFUSION_DATA): converted/<task>_{train,test}.json "
                        "(from `socialfusion convert`) and <task>/ (the dataset root the images are relative to)")
    parser.add_argument("--train", action="append", metavar="TASK=FILE", help="converted train file of a task (overrides --data-root)")
    parser.add_argument("--test", action="append", metavar="TASK=FILE", help="converted test file of a task (overrides --data-root)")
    parser.add_argument("--image-folder", action="append", metavar="TASK=DIR", help="image folder of a task (overrides --data-root)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (probe_results.json/.md, probe_chart.png)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help=f"feature cache (default: $SOCIALFUSION_CACHE/{PROBE_CACHE}, ~/.cache/socialfusion/{PROBE_CACHE})")
    parser.add_argument("--layers", nargs="+", type=int, default=[-2],
                        help="layers, LLaVA/HF indexing: 0 embeddings (HF towers only), k block k, -1 last, -2 second to "
                        "last (default: -2, what LLaVA-1.5 reads); several values sweep")
    parser.add_argument("--pooling", nargs="+", default=["mean"], choices=("mean", "cls", "cls_mean"),
                        help="mean of patch tokens, CLS token, or both concatenated (default: mean); SigLIP towers have "
                        "no CLS token: mean only")
    parser.add_argument("--region", nargs="+", default=["full"], choices=("full", "region"),
                        help="whole image, or the task's person/head/pair/hands box cropped before preprocessing")
    parser.add_argument("--max-train", type=int, help="subsample at most N training records (seeded)")
    parser.add_argument("--max-test", type=int, help="subsample at most N test records (seeded)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the subsampling (default: 0)")
    parser.add_argument("--C", type=float, default=1.0, help="inverse L2 strength of the logistic probes (default: 1)")
    parser.add_argument("--ridge-alpha", type=float, default=1.0, help="L2 strength of the gaze-point regressor (default: 1)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4, help="threads decoding images")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float16", "bfloat16"))
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..analysis.linear_probes import ProbeSettings
    from ..analysis.probe_report import markdown_table, write_probe_report
    from ..analysis.encoders import describe_encoder
    from ..analysis.probe_run import ProbeConfig, run_probe
    from ..preflight import check_probe_arguments

    overrides = {"train": parse_task_paths(args.train, "--train"), "test": parse_task_paths(args.test, "--test"),
                 "image_folder": parse_task_paths(args.image_folder, "--image-folder")}
    for kind, values in overrides.items():
        stray = sorted(set(values) - set(args.tasks))
        if stray:
            raise CommandError(f"--{kind.replace('_', '-')} names task(s) {stray} that are not in --tasks")
    # resolved before the checks, so they look at the folder the probe will write
    args.cache_dir = args.cache_dir or cache_dir(PROBE_CACHE)
    config = ProbeConfig(
        encoders=args.encoders, tasks=args.tasks, out_dir=args.out, cache_dir=args.cache_dir, data_root=args.data_root,
        overrides=overrides, layers=args.layers, poolings=args.pooling, regions=args.region,
        max_train=args.max_train, max_test=args.max_test, seed=args.seed, batch_size=args.batch_size,
        workers=args.workers, device=args.device, dtype=args.dtype,
        settings=ProbeSettings(C=args.C, ridge_alpha=args.ridge_alpha), progress=not args.no_progress,
    )
    check_probe_arguments(args, overrides)  # every missing file and weight, before any encoder is built
    for name in args.encoders:  # what each tower is and how images are prepared for it, from its files
        description = describe_encoder(name)
        if description:
            print(f"encoder {name}: {description}")
    result = run_probe(config)
    written = write_probe_report(result, args.out)
    print(markdown_table(result["results"]), end="")
    stats = result["feature_cache"]
    print(f"feature cache: {stats['cache_hits']} hit(s), {stats['extracted']} extracted, "
          f"{stats['images_encoded']} image(s) encoded")
    print("wrote " + ", ".join(str(path) for path in written.values()))
    return 0
