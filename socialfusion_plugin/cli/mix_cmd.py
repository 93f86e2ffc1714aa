"""`socialfusion mix RECIPE.yaml --out merged.json`: materialize a data recipe into one LLaVA JSON."""
from __future__ import annotations

import os
from pathlib import Path

from .flags import add_shared_flag


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "mix", help="materialize a data recipe (social tasks + general data) into one LLaVA JSON + manifest")
    parser.add_argument("recipe", type=Path, help="data recipe YAML (see data_recipes/)")
    parser.add_argument("--out", required=True, type=Path, help="output LLaVA JSON")
    parser.add_argument("--manifest", type=Path, help="manifest path (default: <out stem>.manifest.json)")
    parser.add_argument("--image-root", type=Path,
                        help="write image paths relative to this folder (it must contain every source's images); "
                        "default: absolute paths, which LLaVA uses whatever --image_folder is")
    add_shared_flag(parser, "--cache-dir", "converted sources of data recipes, in data/")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                        help="processes for converting task sources (output identical for any value)")
    add_shared_flag(parser, "--no-progress")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..data import build_mixture, load_recipe
    from ..data.mixture import sole_mixture_writer, write_mixture
    from ..data.source_cache import default_cache_dir
    from .file_errors import file_errors_as_command_errors, require_writable

    # every output, the converted-source cache included, before any source is converted
    require_writable(files=(("--out", args.out), ("--manifest", args.manifest)),
                     folders=(("--cache-dir", args.cache_dir if args.cache_dir is not None else default_cache_dir()),))
    # one run per --out, held from the start: a second run is refused before it converts anything
    with file_errors_as_command_errors(), sole_mixture_writer(args.out):
        recipe = load_recipe(args.recipe)
        mixture = build_mixture(recipe, cache_dir=args.cache_dir, progress=not args.no_progress,
                                workers=max(1, args.workers))
        manifest_path = write_mixture(mixture, args.out, image_root=args.image_root, manifest_path=args.manifest,
                                      progress=not args.no_progress)
    counts = mixture.counts()
    for plan in mixture.plans:
        name = plan.cached.spec.name
        print(f"  {name:<20} {counts[name]:>9,} records (of {len(plan.cached):,} available)")
    print(f"wrote {len(mixture):,} records to {args.out} and manifest {manifest_path}")
    return 0
