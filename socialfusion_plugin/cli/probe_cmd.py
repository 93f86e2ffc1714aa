"""`socialfusion probe --encoders E1 E2 ... --tasks T1 T2 ... --data-root DIR --out DIR`."""
from __future__ import annotations

from pathlib import Path

from ..analysis.linear_probes import ProbeSettings
from ..analysis.probe_run import ProbeConfig
from ..cache_root import cache_dir
from .flags import add_dataclass_arguments, add_shared_flag, add_task_path_flags, flag_values, parse_task_paths
from .main import CommandError

PROBE_CACHE = "probe-features"  # the feature cache's folder under the plugin's cache root


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "probe", help="linear-probe decodability of social tasks from frozen encoders (JSON, Markdown, PNG)",
        description="Fits a linear probe per encoder x layer x pooling x region x task on frozen features of the "
        "train split and scores it on the test split with the task's own metrics. Features are cached.",
    )
    add_dataclass_arguments(parser, ProbeConfig)
    add_shared_flag(parser, "--data-root", "each task's train and test files and image folder (without it, "
                    "--train, --test and --image-folder name them)")
    add_task_path_flags(parser, "--train", "--test", "--image-folder")
    add_shared_flag(parser, "--cache-dir", f"encoder features, in {PROBE_CACHE}/")
    add_dataclass_arguments(parser, ProbeSettings)
    add_shared_flag(parser, "--no-progress")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..analysis.encoders import describe_encoder
    from ..analysis.probe_run import markdown_table, run_probe, write_probe_report
    from ..preflight import check_probe_arguments

    overrides = {"train": parse_task_paths(args.train, "--train"), "test": parse_task_paths(args.test, "--test"),
                 "image_folder": parse_task_paths(args.image_folder, "--image-folder")}
    for kind, values in overrides.items():
        stray = sorted(set(values) - set(args.tasks))
        if stray:
            raise CommandError(f"--{kind.replace('_', '-')} names task(s) {stray} that are not in --tasks")
    # resolved before the checks, so they look at the folder the probe will write
    args.cache_dir = args.cache_dir or cache_dir(PROBE_CACHE)
    config = ProbeConfig(**flag_values(ProbeConfig, args), data_root=args.data_root, cache_dir=args.cache_dir,
                         overrides=overrides, settings=ProbeSettings(**flag_values(ProbeSettings, args)),
                         progress=not args.no_progress)
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
