"""The one-GPU acceptance command: the plugin against stock LLaVA on a random checkpoint of
LLaVA-1.5-7B's shape, then one JSON document (printed last).

    python benchmarks/bench_acceptance.py                      # on a GPU: LLaVA-1.5-7B's shape
    python benchmarks/bench_acceptance.py --shape tiny --device cpu   # the same code, in CI (< 1 min)

What it builds (random weights, nothing downloaded): a Vicuna-7B-shaped LLaMA (hidden 4096, 32 layers,
32k vocabulary), an open_clip ViT-L/14 at 336 px for the plugin and the same shape as a Hugging Face
CLIPVisionModel folder for stock LLaVA (its builder takes only HF CLIP towers), an mlp2x_gelu connector.
`--shape tiny` is the test suite's tiny model (LLaMA hidden 64, ViT 32 px).

(a) training steps: `socialfusion train` (unpacked, and with --pack_sequences) against stock LLaVA's
    `llava/train/train.py` (`train()`, no plugin hooks, HF CLIP tower), same data, same flags: LoRA
    r128/alpha 256 on every linear layer of the LLM, mlp2x_gelu connector trained (one learning rate:
    stock LLaVA cannot run --mm_projector_lr under DeepSpeed on new torch), bf16, gradient
    checkpointing, ZeRO-2 (one process; on a CPU only where DeepSpeed can run there, else without, and
    the JSON says so). Each run is its own process; a round runs the three once, in a rotated order;
    a step's time is from the trainer's step begin to step end (forward, backward, optimizer step;
    device synchronized), the first `--warmup-steps` steps dropped; ratios are plugin / stock step
    time within a round (< 1: the plugin is faster), the median over rounds reported. Peak memory:
    torch's peak allocation on CUDA, the process's peak RSS on a CPU (model loading included).
(b) `socialfusion eval-suite` (gesture, generate, --batch-size 16) against LLaVA's
    `llava.eval.model_vqa_loader` on the same `--questions` questions and images, the plugin's trained
    checkpoint, loaded once by each side outside the timing (bench_eval.py's method: model_vqa_loader's
    hard-coded .to('cuda') calls are redirected off CUDA only); interleaved rounds, speedup =
    model_vqa_loader's time / eval-suite's, and how many answers are identical.
(c) `socialfusion merge` of that checkpoint, and a load of the merged folder with LLaVA's
    `load_pretrained_model` (no --model-base), which must give a model with its connector and tower.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_eval  # noqa: E402 - the shared checkpoint builders and the eval contenders

SHAPES = bench_eval.SHAPES
ATTENTION_LINE = "pack_sequences: attention for packed rows:"
CONTENDERS = ("stock", "plugin", "plugin_packed")


# ---------------------------------------------------------------------------------------------- assets
def build_hf_clip_tower(folder: Path, shape: dict) -> Path:
    """A random CLIPVisionModel of the tower's shape, with its image processor, for stock LLaVA."""
    import torch
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    if (folder / "config.json").is_file():
        return folder
    heads = shape["tower_width"] // shape["tower_head_width"]
    config = CLIPVisionConfig(hidden_size=shape["tower_width"], intermediate_size=4 * shape["tower_width"],
                              num_hidden_layers=shape["tower_layers"], num_attention_heads=heads,
                              image_size=shape["image_size"], patch_size=shape["patch_size"], projection_dim=768)
    torch.manual_seed(0)
    CLIPVisionModel(config).save_pretrained(folder, safe_serialization=True)
    size = shape["image_size"]
    CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size}).save_pretrained(folder)
    return folder


def build_assets(work: Path, shape_name: str):
    """(TinyAssets of the LLaMA + open_clip tower, the HF CLIP tower folder)."""
    return bench_eval.build_assets(work, shape_name), build_hf_clip_tower(work / f"{shape_name}-hf-clip", SHAPES[shape_name])


# ---------------------------------------------------------------------------------------------- training
def train_argv(args, assets, vision_tower: str, data: Path, output_dir: Path, deepspeed: bool, packed: bool):
    argv = [
        "--model_name_or_path", str(assets.llm_dir), "--version", "v1",
        "--data_path", str(data), "--image_folder", str(data.parent / "images"),
        "--vision_tower", vision_tower, "--mm_projector_type", "mlp2x_gelu", "--mm_vision_select_layer", "-2",
        "--mm_use_im_start_end", "False", "--mm_use_im_patch_token", "False", "--image_aspect_ratio", "pad",
        # no --mm_projector_lr: stock LLaVA under DeepSpeed fails with it on new torch (an empty
        # parameter group: "zip() argument 2 is longer than argument 1"), which the plugin fixes
        "--lora_enable", "True", "--lora_r", "128", "--lora_alpha", "256",
        "--learning_rate", "2e-4", "--bf16", "True", "--gradient_checkpointing", "True",
        "--per_device_train_batch_size", str(args.train_batch_size), "--max_steps", str(args.train_steps),
        "--save_strategy", "no", "--logging_steps", "1", "--model_max_length", "2048",
        "--dataloader_num_workers", "0", "--report_to", "none", "--seed", "0", "--output_dir", str(output_dir),
    ]
    if deepspeed:
        from socialfusion_plugin.resources import deepspeed_config

        argv += ["--deepspeed", str(deepspeed_config("zero2"))]
    if packed:
        argv += ["--pack_sequences", "True"]
    return argv


def child_main(kind: str, spec_path: Path) -> int:
    """One training run in this process (`--child`): installs a step timer into the HF trainer, runs
    the plugin's launcher or stock LLaVA's train(), writes step times and peak memory."""
    spec = json.loads(spec_path.read_text())
    import torch
    import transformers

    import socialfusion_plugin  # noqa: F401 - the environment shims (torchvision ops on a CPU torch) only

    cuda = spec["device"].startswith("cuda")
    times = []

    def sync():
        if cuda:
            torch.cuda.synchronize()

    class StepTimer(transformers.TrainerCallback):
        def on_step_begin(self, *a, **k):
            sync()
            self.start = time.perf_counter()

        def on_step_end(self, *a, **k):
            sync()
            times.append(time.perf_counter() - self.start)

    original_init = transformers.Trainer.__init__

    def init(self, *a, **k):
        original_init(self, *a, **k)
        self.add_callback(StepTimer())

    transformers.Trainer.__init__ = init
    if spec["deepspeed"]:  # one process: what the deepspeed launcher would set
        from socialfusion_plugin.host.llava.training.launcher import ensure_single_process_environment

        ensure_single_process_environment()
    if kind == "stock":
        import llava.train.train as stock

        sys.argv = ["train.py", *spec["argv"]]
        stock.train()
    else:
        from socialfusion_plugin.train import main

        main(spec["argv"])
    if cuda:
        peak = torch.cuda.max_memory_allocated() / 2 ** 20
    else:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    spec_path.with_suffix(".result.json").write_text(json.dumps({"step_seconds": times, "peak_memory_mib": peak}))
    return 0


def run_child(kind: str, argv, args, deepspeed: bool, folder: Path) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / f"{kind}.spec.json"
    spec.write_text(json.dumps({"argv": argv, "device": args.device, "deepspeed": deepspeed}))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if not args.device.startswith("cuda"):
        env["CUDA_VISIBLE_DEVICES"] = ""
    log = folder / f"{kind}.log"
    with open(log, "w") as handle:
        code = subprocess.call([sys.executable, str(Path(__file__).resolve()), "--child", kind, "--spec", str(spec)],
                               cwd=folder, env=env, stdout=handle, stderr=subprocess.STDOUT)
    if code != 0:
        tail = log.read_text()[-3000:]
        raise SystemExit(f"bench_acceptance: the {kind} training run failed (exit {code}); its log {log}:\n{tail}")
    result = json.loads(spec.with_suffix(".result.json").read_text())
    timed = result["step_seconds"][args.warmup_steps:]
    if not timed:
        raise SystemExit(f"bench_acceptance: {kind} ran {len(result['step_seconds'])} steps, none left after "
                         f"--warmup-steps {args.warmup_steps}")
    result["median_step_s"] = statistics.median(timed)
    result["attention"] = [line.split(ATTENTION_LINE, 1)[1].strip() for line in log.read_text().splitlines()
                           if ATTENTION_LINE in line]
    return result


def bench_training(args, work: Path, assets, hf_tower: Path, data: Path, deepspeed: bool) -> dict:
    rounds = []
    for index in range(args.rounds):
        folder = work / f"train-round-{index}"
        runs = {
            "stock": ("stock", train_argv(args, assets, str(hf_tower), data, folder / "stock" / "out", deepspeed,
                                          False)),
            "plugin": ("plugin", train_argv(args, assets, assets.vision_tower, data, folder / "plugin" / "out",
                                            deepspeed, False)),
            "plugin_packed": ("plugin", train_argv(args, assets, assets.vision_tower, data,
                                                   folder / "plugin_packed" / "out", deepspeed, True)),
        }
        order = list(CONTENDERS[index % 3:] + CONTENDERS[:index % 3])
        results = {}
        for name in order:
            kind, argv = runs[name]
            results[name] = run_child(kind, argv, args, deepspeed, folder / name)
        print(f"train round {index + 1}/{args.rounds}: " + ", ".join(
            f"{name} {results[name]['median_step_s']:.3f} s/step" for name in CONTENDERS), file=sys.stderr, flush=True)
        rounds.append(results)
    stock = [r["stock"]["median_step_s"] for r in rounds]
    return {
        "train_step_ratio_vs_stock": statistics.median(r["plugin"]["median_step_s"] / s for r, s in zip(rounds, stock)),
        "train_step_ratio_packed_vs_stock": statistics.median(
            r["plugin_packed"]["median_step_s"] / s for r, s in zip(rounds, stock)),
        "step_seconds_median": {name: statistics.median(r[name]["median_step_s"] for r in rounds)
                                for name in CONTENDERS},
        "peak_memory_mib": {name: round(max(r[name]["peak_memory_mib"] for r in rounds), 1) for name in CONTENDERS},
        "packed_attention": rounds[0]["plugin_packed"]["attention"],
        "checkpoint": str(work / "train-round-0" / "plugin" / "out"),
    }


# ---------------------------------------------------------------------------------------------- eval
def write_suite(work: Path, questions_json: Path, images: Path) -> Path:
    suite = work / "suite.yaml"
    suite.write_text(f"tasks:\n  - task: gesture\n    mode: generate\n    data: {questions_json}\n"
                     f"    image_folder: {images}\n")
    return suite


REPORT_SECONDS = []


def time_reports() -> None:
    """Record how long eval-suite's scoring and report (charts) take, so the prediction part can be
    told apart from the whole command; the report's work is unchanged."""
    from socialfusion_plugin.evaluation import report

    if getattr(report.build_report, "_bench_timed", False):
        return
    original = report.build_report

    def build_report(*a, **k):
        start = time.perf_counter()
        try:
            return original(*a, **k)
        finally:
            REPORT_SECONDS.append(time.perf_counter() - start)

    build_report._bench_timed = True
    report.build_report = build_report


def run_eval_suite(loaded, checkpoint: Path, base: Path, suite: Path, out: Path, args) -> Path:
    from socialfusion_plugin.cli.main import main as cli_main
    from socialfusion_plugin.evaluation import suite as suite_module
    from socialfusion_plugin.evaluation.layout import RunLayout

    suite_module.LazyModel.get = lambda self: loaded  # loaded once, outside the timing
    time_reports()
    argv = ["eval-suite", "--model-path", str(checkpoint), "--model-base", str(base), "--suite", str(suite),
            "--out", str(out), "--batch-size", str(args.eval_batch_size), "--max-new-tokens", str(args.max_new_tokens),
            "--device", args.device, "--dtype", args.dtype, "--overwrite", "--no-progress"]
    with contextlib.redirect_stdout(io.StringIO()):
        code = cli_main(argv)
    if code != 0:
        raise SystemExit(f"bench_acceptance: eval-suite exited {code}")
    return RunLayout(out).predictions("gesture")


def redirect_vqa_loader_calls(tensor_to, args) -> bool:
    """model_vqa_loader hard-codes `.to(device='cuda')` and `.to(dtype=torch.float16)`: calls made from
    that file only go to --device and --dtype (bench_eval.py redirects the device alone; a CPU with
    torch 2.1 cannot run float16). True where anything is redirected."""
    import torch

    dtype = getattr(torch, args.dtype)
    if args.device.startswith("cuda") and dtype == torch.float16:
        torch.Tensor.to = tensor_to
        return False

    def moved(value):
        if isinstance(value, (str, torch.device)) and str(value).startswith("cuda"):
            return args.device
        return dtype if value is torch.float16 else value

    def to(self, *a, **k):
        if sys._getframe(1).f_code.co_filename.replace("\\", "/").endswith(bench_eval.VQA_FILE):
            a = tuple(moved(v) for v in a)
            k = {key: moved(v) for key, v in k.items()}
        return tensor_to(self, *a, **k)

    torch.Tensor.to = to
    return True


def bench_eval_suite(args, work: Path, checkpoint: Path, base: Path) -> dict:
    import torch

    questions_json, vqa_questions, images = bench_eval.write_gesture_questions(work / "eval", args.questions)
    suite = write_suite(work / "eval", questions_json, images)
    from llava.model import builder

    ours = bench_eval.load_ours(checkpoint, base, args)
    tensor_to, load_pretrained_model = torch.Tensor.to, builder.load_pretrained_model
    try:
        return _bench_eval_suite(args, work, checkpoint, base, ours, questions_json, vqa_questions, images, suite,
                                 tensor_to)
    finally:  # load_llava made LLaVA's loader return its model (for model_vqa_loader): merge loads anew
        builder.load_pretrained_model, torch.Tensor.to = load_pretrained_model, tensor_to


def _bench_eval_suite(args, work, checkpoint, base, ours, questions_json, vqa_questions, images, suite, tensor_to):
    import torch

    theirs, redirected = bench_eval.load_llava(checkpoint, base, args)
    redirected = redirect_vqa_loader_calls(tensor_to, args) or redirected
    contenders = {
        "model_vqa_loader": lambda r: bench_eval.run_vqa_loader(
            theirs, checkpoint, base, vqa_questions, images, work / "eval" / f"vqa-{r}.jsonl", args),
        "eval-suite": lambda r: run_eval_suite(ours, checkpoint, base, suite, work / "eval" / f"suite-{r}", args),
    }
    for name in contenders:
        contenders[name]("warm")
    seconds = {name: [] for name in contenders}
    report_seconds = []
    for index in range(args.rounds):
        for name in (list(contenders) if index % 2 == 0 else list(contenders)[::-1]):
            start = time.perf_counter()
            contenders[name](index)
            seconds[name].append(time.perf_counter() - start)
            if name == "eval-suite":
                report_seconds.append(REPORT_SECONDS[-1])
    vqa = {str(row["question_id"]): row["text"] for row in
           map(json.loads, (work / "eval" / "vqa-warm.jsonl").read_text().splitlines())}
    predictions = run_eval_suite(ours, checkpoint, base, suite, work / "eval" / "suite-answers", args)
    suite_answers = {str(row["id"]): row["text"] for row in map(json.loads, predictions.read_text().splitlines())}
    same = sum(suite_answers.get(key) == text for key, text in vqa.items())
    del ours, theirs
    if args.device.startswith("cuda"):
        torch.cuda.empty_cache()
    n = args.questions
    return {
        "eval_speedup_vs_model_vqa_loader": statistics.median(
            v / s for v, s in zip(seconds["model_vqa_loader"], seconds["eval-suite"])),
        # without eval-suite's scoring and report (its charts take seconds whatever the model)
        "eval_speedup_predictions_vs_model_vqa_loader": statistics.median(
            v / (s - r) for v, s, r in zip(seconds["model_vqa_loader"], seconds["eval-suite"], report_seconds)),
        "eval_suite_report_seconds": round(statistics.median(report_seconds), 2),
        "eval_samples_per_s": {name: round(n / statistics.median(values), 3) for name, values in seconds.items()},
        "eval_answer_agreement": round(same / n, 4),
        "eval_answers_identical": same,
        "eval_questions": n,
        "model_vqa_loader_calls_redirected": (f"its .to('cuda') / .to(float16) calls went to {args.device} / "
                                              f"{args.dtype}" if redirected else False),
    }


# ---------------------------------------------------------------------------------------------- merge
def bench_merge(args, work: Path, checkpoint: Path, base: Path, load_pretrained_model) -> dict:
    import torch

    from socialfusion_plugin.cli.main import main as cli_main
    from socialfusion_plugin.host import file_dispatch

    merged = work / "llava-merged"
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = cli_main(["merge", "--model-path", str(checkpoint), "--model-base", str(base), "--out", str(merged),
                         "--device", args.device, "--dtype", args.dtype])
    if code != 0:
        raise SystemExit(f"bench_acceptance: merge exited {code}")
    merge_s = time.perf_counter() - start
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        tokenizer, model, processor, _ = file_dispatch(load_pretrained_model)(
            str(merged), None, merged.name, device=args.device, torch_dtype=getattr(torch, args.dtype))
    load_s = time.perf_counter() - start
    loaded = (model.get_model().mm_projector is not None and model.get_vision_tower() is not None
              and processor is not None and tokenizer is not None)
    return {"merge_seconds": round(merge_s, 2), "merged_load_seconds": round(load_s, 2),
            "merged_loads_with_llava": loaded}


# ---------------------------------------------------------------------------------------------- main
def device_name(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    cpu = platform.processor() or platform.machine()
    return f"cpu ({cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} threads)"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="llava-7b")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", choices=("float16", "bfloat16", "float32"),
                        help="eval and merged-load dtype (default: float16 on CUDA, as LLaVA's loader; "
                        "float32 on a CPU)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default: 3; 1 with --shape tiny)")
    parser.add_argument("--train-steps", type=int, help="steps per training run (default: 8; 2 with --shape tiny)")
    parser.add_argument("--warmup-steps", type=int, default=1, help="first steps of a run left out of its median")
    parser.add_argument("--train-batch-size", type=int, help="per-device batch (default: 16; 4 with --shape tiny)")
    parser.add_argument("--questions", type=int, default=64)
    parser.add_argument("--eval-batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--no-deepspeed", action="store_true", help="train without ZeRO-2")
    parser.add_argument("--work", type=Path, help="folder for everything built and written (default: a temp folder)")
    parser.add_argument("--child", choices=("stock", "plugin"), help=argparse.SUPPRESS)
    parser.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args.child, args.spec)
    tiny = args.shape == "tiny"
    args.rounds = args.rounds or (1 if tiny else 3)
    args.train_steps = args.train_steps or (2 if tiny else 8)
    args.train_batch_size = args.train_batch_size or (4 if tiny else 16)
    args.dtype = args.dtype or ("float16" if args.device.startswith("cuda") else "float32")
    if args.train_steps <= args.warmup_steps:
        parser.error("--train-steps must be larger than --warmup-steps")

    import torch

    from socialfusion_plugin.demo.synthetic_data import write_color_dataset
    from socialfusion_plugin.host.llava.environment.versions import deepspeed_cpu_blocker

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: no CUDA device here (use --shape tiny --device cpu)")
    deepspeed_note = "ZeRO-2, one process"
    deepspeed = not args.no_deepspeed
    if args.no_deepspeed:
        deepspeed_note = "off (--no-deepspeed)"
    elif not args.device.startswith("cuda"):
        blocker = deepspeed_cpu_blocker()
        if blocker is not None:
            deepspeed, deepspeed_note = False, f"off: DeepSpeed cannot run on this CPU-only machine: {blocker}"
    started = time.perf_counter()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-acceptance-"))
    work.mkdir(parents=True, exist_ok=True)
    assets, hf_tower = build_assets(work, args.shape)
    data = write_color_dataset(work / "train-data", count=args.train_batch_size * args.train_steps, seed=0)
    training = bench_training(args, work, assets, hf_tower, data, deepspeed)
    checkpoint = Path(training.pop("checkpoint"))
    from llava.model import builder

    load_pretrained_model = builder.load_pretrained_model  # bench_eval.load_llava replaces it for model_vqa_loader
    evaluation = bench_eval_suite(args, work, checkpoint, assets.llm_dir)
    merge = bench_merge(args, work, checkpoint, assets.llm_dir, load_pretrained_model)
    import transformers

    report = {
        **training, **evaluation, **merge,
        "device": device_name(args.device), "shape": args.shape, "deepspeed": deepspeed_note,
        "settings": {"rounds": args.rounds, "train_steps": args.train_steps, "warmup_steps": args.warmup_steps,
                     "train_batch_size": args.train_batch_size, "lora_r": 128, "bf16": True,
                     "gradient_checkpointing": True, "eval_batch_size": args.eval_batch_size,
                     "max_new_tokens": args.max_new_tokens, "eval_dtype": args.dtype},
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "python": platform.python_version()},
        "work": str(work), "wall_seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
