"""`socialfusion eval` (generate and rank, several batch sizes) vs LLaVA's `llava.eval.model_vqa_loader`
on the same checkpoint, the same gesture test questions and the same dtype. Prints samples/s, the
median over interleaved rounds of each speed ratio, and how many answers agree.

    python benchmarks/bench_eval.py [--samples 64] [--rounds 5] [--batch-sizes 1,8,16]
        [--rank-batch-sizes 1,8,16] [--max-new-tokens 32] [--dtype float16] [--device cpu]
        [--threads N] [--shape tiny|llava-7b]

The checkpoint is built as the test suite builds one (tests/tiny_llava_checkpoints.py): a tiny random
LLaMA + open_clip tower, LoRA adapters with random B and the connector in non_lora_trainables.bin.
Both sides load it ONCE with LLaVA's `load_pretrained_model` (the files decide the path, as the
model-hooks patch makes it) in `--dtype` (LLaVA's loader forces float16, so that is the default);
the timed part is everything after loading: for `eval` the whole command (`cli.main(["eval", ...])`
with the loaded model handed in), for model_vqa_loader its whole `__main__` (data loader with its 4
workers, per-question `generate`, answers file). Every round runs every contender once, each round in
a rotated order; a ratio is taken within each round and the median over rounds is printed, so load
from other processes on the machine hits both sides of a ratio alike.

LLaVA's model_vqa_loader hard-codes CUDA (`input_ids.to(device='cuda')`, `image_tensor.to(...,
device='cuda')`). On a device other than CUDA those calls, and ONLY calls made from that file, are
redirected to `--device` by a wrapper around `torch.Tensor.to`; the output says when this happened.
Nothing else of LLaVA or the plugin is changed.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Language model and vision tower shapes. "tiny" is built by the demo's own builders, exactly the
# test suite's model; the others by build_shaped_assets.
SHAPES = {
    "tiny": dict(hidden=64, layers=2, heads=4, intermediate=128, vocab=400,
                 image_size=32, patch_size=8, tower_width=64, tower_layers=3, tower_head_width=32),
    "llava-7b": dict(hidden=4096, layers=32, heads=32, intermediate=11008, vocab=32000,
                     image_size=336, patch_size=14, tower_width=1024, tower_layers=24, tower_head_width=64),
}
VQA_FILE = "llava/eval/model_vqa_loader.py"


def parse_sizes(text: str):
    return [int(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-sizes", type=parse_sizes, default=[1, 8, 16], help="eval --mode generate")
    parser.add_argument("--rank-batch-sizes", type=parse_sizes, default=[1, 8, 16], help="eval --mode rank")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--dtype", default="float16", choices=("float16", "float32", "bfloat16"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tiny",
                        help="tiny: the test suite's model (LLaMA hidden 64, 2 layers, 400 tokens; ViT 32 px / patch "
                        "8, 16 image tokens); llava-7b: LLaVA-1.5-7B's shapes (Vicuna-7B, 32k vocabulary, ViT-L/14 "
                        "at 336 px, 576 image tokens), random weights, for a GPU")
    parser.add_argument("--threads", type=int,
                        help="torch threads for both sides (default: torch's own choice); on a machine shared with "
                        "other jobs, 1 avoids threads waiting on each other")
    parser.add_argument("--work", type=Path, help="folder for the checkpoint and outputs (default: a new temp folder)")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-eval-"))
    checkpoint, base = build_checkpoint(work, args)
    questions_json, vqa_questions, image_folder = write_gesture_questions(work, args.samples)
    ours = load_ours(checkpoint, base, args)
    theirs, redirected = load_llava(checkpoint, base, args)

    contenders = {"model_vqa_loader": lambda r: run_vqa_loader(theirs, checkpoint, base, vqa_questions, image_folder,
                                                                 work / f"vqa-{r}.jsonl", args)}
    for size in args.batch_sizes:
        contenders[f"eval generate b{size}"] = (
            lambda r, size=size: run_eval(ours, checkpoint, base, questions_json, work / f"gen{size}-{r}.jsonl",
                                          "generate", size, args))
    for size in args.rank_batch_sizes:
        contenders[f"eval rank b{size}"] = (
            lambda r, size=size: run_eval(ours, checkpoint, base, questions_json, work / f"rank{size}-{r}.jsonl",
                                          "rank", size, args))
    names = list(contenders)
    for name in names:  # warm-up (first-call allocations, lazy imports), untimed
        contenders[name]("warm")
    seconds = {name: [] for name in names}
    for round_index in range(args.rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            contenders[name](round_index)
            seconds[name].append(time.perf_counter() - start)
        print(f"round {round_index + 1}/{args.rounds}: " + ", ".join(f"{n} {seconds[n][-1]:.2f}s" for n in names),
              flush=True)

    n = args.samples
    print()
    shape = SHAPES[args.shape]
    print(f"checkpoint: LoRA run of a random LLaVA, shape {args.shape!r} (LLaMA hidden {shape['hidden']}, "
          f"{shape['layers']} layers, vocabulary {len(ours.tokenizer)}; open_clip ViT {shape['image_size']} px / patch "
          f"{shape['patch_size']}), dtype {args.dtype}, device {args.device}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{n} gesture test questions, greedy, max_new_tokens {args.max_new_tokens}, {args.rounds} interleaved rounds")
    if redirected:
        print(f"model_vqa_loader: its hard-coded .to('cuda') calls were redirected to {args.device!r} "
              f"(a torch.Tensor.to wrapper active only for calls from {VQA_FILE}); nothing else changed")
    vqa = seconds["model_vqa_loader"]
    print(f"{'contender':<22} {'median s':>9} {'samples/s':>10} {'x model_vqa_loader':>19}")
    for name in names:
        median = statistics.median(seconds[name])
        ratio = statistics.median(v / s for v, s in zip(vqa, seconds[name]))
        print(f"{name:<22} {median:>9.2f} {n / median:>10.1f} {ratio:>18.2f}x")
    for size in sorted(set(args.batch_sizes) & set(args.rank_batch_sizes)):
        cost = statistics.median(r / g for r, g in zip(seconds[f"eval rank b{size}"], seconds[f"eval generate b{size}"]))
        print(f"rank cost / generate cost at batch size {size}: {cost:.2f}")
    print()
    report_agreement(work, names, n)


def build_assets(work: Path, shape_name: str):
    """TinyAssets of the LLaMA + open_clip tower: the demo's tiny pair, or random weights of a named shape."""
    from socialfusion_plugin.demo.tiny_assets import TinyAssets, build_tiny_llm, build_tiny_tower

    if shape_name != "tiny":
        return build_shaped_assets(work / shape_name, SHAPES[shape_name])
    llm = work / "tiny-llama"
    if not (llm / "model.safetensors").is_file():
        build_tiny_llm(llm, seed=0)
    arch, weights = build_tiny_tower(work / "tiny-tower", seed=0)
    return TinyAssets(llm_dir=llm, tower_arch=arch, tower_weights=weights)


def build_checkpoint(work: Path, args):
    """(LoRA run folder, base model folder), as tests/tiny_llava_checkpoints.py writes them."""
    sys.path.insert(0, str(REPO / "tests"))
    from tiny_llava_checkpoints import write_lora_and_projector_checkpoints

    assets = build_assets(work, args.shape)
    adapters = work / "checkpoint" / "social-adapters"
    if not (adapters / "non_lora_trainables.bin").is_file():
        adapters, _ = write_lora_and_projector_checkpoints(assets, work / "checkpoint")
    return adapters, assets.llm_dir


def build_shaped_assets(root: Path, shape: dict):
    """A random LLaMA and open_clip ViT of the given shapes, in the same files as the tiny ones. The
    tokenizer is the tiny one plus unused added tokens up to `vocab`, so the vocabulary head (and
    LLaVA's resize to len(tokenizer)) has LLaMA's width."""
    import open_clip
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from socialfusion_plugin.demo.tiny_assets import TinyAssets, build_tiny_tokenizer
    from socialfusion_plugin.model.open_clip_tower import quiet_random_init_warning

    llm, tower = root / "llama", root / "tower"
    if not (llm / "model.safetensors").is_file():
        tokenizer = build_tiny_tokenizer(llm)
        tokenizer.add_tokens([f"<unused{i}>" for i in range(max(0, shape["vocab"] - len(tokenizer)))])
        tokenizer.save_pretrained(llm)
        config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=shape["hidden"],
                             intermediate_size=shape["intermediate"], num_hidden_layers=shape["layers"],
                             num_attention_heads=shape["heads"], num_key_value_heads=shape["heads"],
                             max_position_embeddings=4096, bos_token_id=tokenizer.bos_token_id,
                             eos_token_id=tokenizer.eos_token_id, pad_token_id=None, tie_word_embeddings=False)
        torch.manual_seed(0)
        LlamaForCausalLM(config).to(torch.float16).save_pretrained(llm, safe_serialization=True)
    name = f"sf-bench-vit-{shape['image_size']}-{shape['tower_width']}"
    arch, weights = tower / f"{name}.json", tower / f"{name}.pt"
    if not weights.is_file():
        tower.mkdir(parents=True, exist_ok=True)
        arch.write_text(json.dumps({
            "embed_dim": 768,
            "vision_cfg": {"image_size": shape["image_size"], "layers": shape["tower_layers"],
                           "width": shape["tower_width"], "patch_size": shape["patch_size"],
                           "head_width": shape["tower_head_width"]},
            "text_cfg": {"context_length": 16, "vocab_size": 64, "width": 32, "heads": 2, "layers": 1}}))
        if name not in open_clip.list_models():
            open_clip.add_model_config(arch)
        torch.manual_seed(0)
        with quiet_random_init_warning():
            torch.save(open_clip.create_model(name, pretrained=None).state_dict(), weights)
    return TinyAssets(llm_dir=llm, tower_arch=arch, tower_weights=weights)


def write_gesture_questions(work: Path, samples: int):
    """The gesture test split as `convert` writes it (for eval) and as LLaVA's question file (for
    model_vqa_loader): the same images and the same question text."""
    from PIL import Image

    from socialfusion_plugin import registry

    gesture = registry.TASKS.get("gesture")
    labels = gesture.label_names(gesture.options())
    question = "Which hand gesture is shown in this image? Answer with the gesture name."
    images = work / "images"
    images.mkdir(parents=True, exist_ok=True)
    records, vqa = [], []
    for index in range(samples):
        name = f"hand_{index:03d}.jpg"
        Image.new("RGB", (64, 48), ((37 * index) % 255, (91 * index) % 255, (53 * index) % 255)).save(images / name)
        label = labels[index % len(labels)]
        records.append({"id": f"gesture/test/{index}", "image": name,
                        "conversations": [{"from": "human", "value": f"<image>\n{question}"},
                                          {"from": "gpt", "value": label}],
                        "meta": {"task": "gesture", "split": "test", "label": label}})
        vqa.append({"question_id": f"gesture/test/{index}", "image": name, "text": question})
    questions_json = work / "gesture_test.json"
    questions_json.write_text(json.dumps(records))
    vqa_file = work / "gesture_test.questions.jsonl"
    vqa_file.write_text("".join(json.dumps(line) + "\n" for line in vqa))
    return questions_json, vqa_file, images


def load_ours(checkpoint: Path, base: Path, args):
    from socialfusion_plugin.host.llava.loading.checkpoints import load_checkpoint

    return load_checkpoint(checkpoint, str(base), device=args.device, dtype=args.dtype)


def load_llava(checkpoint: Path, base: Path, args):
    """LLaVA's loader as patches/llava-1.2.2-model-hooks.patch makes it (hooks installed, the path
    picked from the files), called as model_vqa_loader calls it plus device and dtype."""
    import torch
    from llava.model import builder

    from socialfusion_plugin.host import file_dispatch, install_model_hooks

    install_model_hooks()
    loaded = file_dispatch(builder.load_pretrained_model)(
        str(checkpoint), str(base), checkpoint.name, device=args.device, torch_dtype=getattr(torch, args.dtype))
    builder.load_pretrained_model = lambda *a, **k: loaded  # model_vqa_loader reads it at import: load once
    redirected = not args.device.startswith("cuda")
    if redirected:
        redirect_cuda_calls(args.device)
    return loaded, redirected


def redirect_cuda_calls(device: str) -> None:
    import torch

    tensor_to = torch.Tensor.to

    def moved(value):
        return device if isinstance(value, (str, torch.device)) and str(value).startswith("cuda") else value

    def to(self, *args, **kwargs):
        if sys._getframe(1).f_code.co_filename.replace("\\", "/").endswith(VQA_FILE):
            args = tuple(moved(a) for a in args)
            kwargs = {k: moved(v) for k, v in kwargs.items()}
        return tensor_to(self, *args, **kwargs)

    torch.Tensor.to = to


def run_vqa_loader(loaded, checkpoint, base, questions, image_folder, answers, args) -> None:
    import runpy

    sys.argv = ["model_vqa_loader.py", "--model-path", str(checkpoint), "--model-base", str(base),
                "--image-folder", str(image_folder), "--question-file", str(questions), "--answers-file", str(answers),
                "--conv-mode", "v1", "--temperature", "0", "--max_new_tokens", str(args.max_new_tokens)]
    from transformers.utils import logging

    verbosity = logging.get_verbosity()
    logging.set_verbosity_error()  # generate() warns on every question that no attention mask was given
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # its tqdm bar
            runpy.run_module("llava.eval.model_vqa_loader", run_name="__main__")
    finally:
        logging.set_verbosity(verbosity)


def run_eval(loaded, checkpoint, base, data, out, mode, batch_size, args) -> None:
    from socialfusion_plugin.cli import eval_cmd
    from socialfusion_plugin.cli.main import main as cli_main

    eval_cmd._load = lambda _args, _host: loaded  # loaded once, outside the timing
    argv = ["eval", "--model-path", str(checkpoint), "--model-base", str(base), "--task", "gesture", "--data", str(data),
            "--image-folder", str(data.parent / "images"), "--out", str(out), "--mode", mode,
            "--batch-size", str(batch_size), "--max-new-tokens", str(args.max_new_tokens), "--device", args.device,
            "--dtype", args.dtype, "--overwrite", "--no-progress"]
    with contextlib.redirect_stdout(io.StringIO()):
        code = cli_main(argv)
    if code != 0:
        raise SystemExit(f"eval {' '.join(argv)} exited {code}")


def report_agreement(work: Path, names, n: int) -> None:
    """Answers of the warm-up runs: generation vs model_vqa_loader's text, rank vs rank at batch 1."""
    def lines(path):
        return {str(row.get("question_id", row.get("id"))): row for row in map(json.loads, path.read_text().splitlines())}

    vqa = lines(work / "vqa-warm.jsonl")
    for name in names:
        if name.startswith("eval generate"):
            rows = lines(work / f"gen{name.rsplit('b', 1)[1]}-warm.jsonl")
            same = sum(rows[key]["text"] == vqa[key]["text"] for key in vqa)
            print(f"{name}: {same}/{n} answers identical to model_vqa_loader's")
    ranks = sorted((name for name in names if name.startswith("eval rank")), key=lambda s: int(s.rsplit("b", 1)[1]))
    if ranks:
        reference = lines(work / f"rank{ranks[0].rsplit('b', 1)[1]}-warm.jsonl")
        for name in ranks[1:]:
            rows = lines(work / f"rank{name.rsplit('b', 1)[1]}-warm.jsonl")
            same = sum(rows[key]["text"] == reference[key]["text"] for key in reference)
            worst = max(abs(rows[key]["scores"][label] - reference[key]["scores"][label])
                        for key in reference for label in reference[key]["scores"])
            print(f"{name}: {same}/{n} labels identical to {ranks[0]}; largest score difference {worst:.2e}")


if __name__ == "__main__":
    main()
