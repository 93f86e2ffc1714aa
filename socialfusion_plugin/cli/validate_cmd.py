"""`socialfusion validate FILE.json|RECIPE.yaml [--image-folder DIR] [--model PATH --version v1]`."""
from __future__ import annotations

import os
from pathlib import Path

from .file_errors import file_errors_as_command_errors
from .main import CommandError
from .flags import add_shared_flag


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "validate", help="check a LLaVA JSON or a data recipe before launching a job (images, turns, labels, length)")
    parser.add_argument("input", type=Path, help="LLaVA JSON (with --image-folder) or data recipe YAML")
    add_shared_flag(parser, "--image-folder")
    parser.add_argument("--model", help="base LLM folder whose tokenizer training uses (enables the label/length checks)")
    add_shared_flag(parser, "--version")
    parser.add_argument("--model-max-length", type=int, default=2048, help="as training's --model_max_length (default 2048)")
    parser.add_argument("--image-tokens", type=int, default=576,
                        help="visual tokens per image (default 576: ViT-L/14-336; 144 with avgpool2x2_mlp2x_gelu)")
    parser.add_argument("--mm-use-im-start-end", action="store_true", help="as training's --mm_use_im_start_end True")
    parser.add_argument("--no-image-check", action="store_true", help="skip decoding images")
    parser.add_argument("--report", type=Path, help="full report (default: <input stem>.validation.json next to the input)")
    add_shared_flag(parser, "--cache-dir", "converted sources of data recipes, in data/")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1),
                        help="threads for image checks, processes for tokenization checks")
    add_shared_flag(parser, "--no-progress")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..data import build_mixture, load_recipe
    from ..data.mixture import file_mixture
    from ..data.validate import validate_mixture

    progress, workers = not args.no_progress, max(1, args.workers)
    label_check = None
    if args.model:
        from ..host_interface import active_host

        label_check = active_host().label_check(
            model_path=args.model, version=args.version, model_max_length=args.model_max_length,
            image_tokens=args.image_tokens, mm_use_im_start_end=args.mm_use_im_start_end)
    with file_errors_as_command_errors():
        if args.input.suffix in (".yaml", ".yml"):
            if args.image_folder is not None:
                raise CommandError("--image-folder is for a JSON input; a recipe gives each source's image folder")
            mixture = build_mixture(load_recipe(args.input), cache_dir=args.cache_dir, progress=progress,
                                    workers=workers)
        else:
            if args.image_folder is None:
                raise CommandError("--image-folder is required for a JSON input (where its image paths start)")
            mixture = file_mixture(args.input, args.image_folder, cache_dir=args.cache_dir, progress=progress)
        report = validate_mixture(mixture, str(args.input), label_check=label_check,
                                  check_images=not args.no_image_check, workers=workers, progress=progress)
        report_path = args.report or args.input.with_name(args.input.stem + ".validation.json")
        report.write(report_path)
    print(report.summary())
    if not args.model:
        print("  (label and length checks need --model PATH [--version v1])")
    print(f"full report: {report_path}")
    return 1 if report.findings else 0
