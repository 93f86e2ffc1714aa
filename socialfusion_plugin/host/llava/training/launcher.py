"""`socialfusion train` / `python -m socialfusion_plugin.train`: install the hooks, run LLaVA's train().

Every argument is LLaVA's own (HfArgumentParser rejects unknown ones with its usual message), plus
`--attn_implementation {eager,sdpa,flash_attention_2}` which LLaVA takes as a function argument.

DeepSpeed: under the `deepspeed` launcher (or torchrun) the distributed environment is already set.
A plain single-process run with `--deepspeed cfg.json` gets a one-process environment here, because
without RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT the Hugging Face trainer does not use DeepSpeed.
"""
from __future__ import annotations

import os
import socket
import sys
from typing import List, Optional, Tuple

from socialfusion_plugin.host_interface import HostArgumentError

ATTN_CHOICES = ("eager", "sdpa", "flash_attention_2")
HF_DEFAULT_SEED = 42  # TrainingArguments.seed


class LauncherArgumentError(HostArgumentError):
    pass


def pop_option(argv: List[str], flag: str) -> Tuple[List[str], Optional[str]]:
    """Remove `flag VALUE` or `flag=VALUE` from argv; return (rest, value)."""
    rest, value, items = [], None, iter(argv)
    for item in items:
        if item == flag:
            value = next(items, None)
            if value is None:
                raise LauncherArgumentError(f"{flag} needs a value")
        elif item.startswith(flag + "="):
            value = item.split("=", 1)[1]
        else:
            rest.append(item)
    return rest, value


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_single_process_environment(environ=os.environ) -> bool:
    """Set a one-process distributed environment when none is set. True when it did."""
    if all(name in environ for name in ("RANK", "WORLD_SIZE")):
        return False
    defaults = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": str(free_port())}
    for name, value in defaults.items():
        environ.setdefault(name, value)
    return True


def attn_implementation(argv: List[str]) -> Tuple[List[str], Optional[str]]:
    """(argv without `--attn_implementation`, its checked value): LLaVA takes it as an argument of train()."""
    rest, value = pop_option(list(argv), "--attn_implementation")
    if value is not None and value not in ATTN_CHOICES:
        raise LauncherArgumentError(f"--attn_implementation must be one of {', '.join(ATTN_CHOICES)}, got {value!r}")
    return rest, value


def training_seed(argv: List[str]) -> int:
    """The run's --seed (what the Trainer uses), without consuming it: LLaVA's parser reads it too."""
    _, value = pop_option(list(argv), "--seed")
    try:
        return int(value) if value is not None else HF_DEFAULT_SEED
    except ValueError:
        raise LauncherArgumentError(f"--seed must be an integer, got {value!r}") from None


def main(argv: Optional[List[str]] = None) -> int:
    argv, implementation = attn_implementation(sys.argv[1:] if argv is None else argv)
    deepspeed = any(item == "--deepspeed" or item.startswith("--deepspeed=") for item in argv)
    if deepspeed and ensure_single_process_environment():
        print("socialfusion train: no distributed environment found; running DeepSpeed as one process", flush=True)
    import transformers

    from socialfusion_plugin.errors import UserInputError
    from socialfusion_plugin.host.llava.training.install import install_train_hooks
    from socialfusion_plugin.host.llava.training.resume import CheckpointSaveError, last_checkpoint, save_fault

    train_module = install_train_hooks()
    # LLaVA's train() creates the LoRA adapters and the connector BEFORE the Trainer seeds the
    # process, so their initial weights would differ from run to run; seed them with the run's seed
    transformers.set_seed(training_seed(argv))
    saved_argv = sys.argv
    sys.argv = ["socialfusion train"] + argv  # HfArgumentParser reads sys.argv
    try:
        train_module.train(attn_implementation=implementation)
    except UserInputError:  # already in words (a checkpoint that could not be saved among them)
        raise
    except Exception as err:  # noqa: BLE001 - only a disk fault is turned into an error message
        # A full or read-only disk while train() writes the final model into --output_dir (its own torch.save
        # and save_pretrained, after the last checkpoint): one error naming the folder and the disk, as for a
        # checkpoint (resume.checkpoint_save_faults), instead of torch's `unexpected pos`.
        _, output_dir = pop_option(list(argv), "--output_dir")
        cause = save_fault(err, output_dir) if output_dir else None
        if cause is None:
            raise
        last = last_checkpoint(output_dir)
        resume = (f"once fixed, rerun the same command to resume from {last}" if last
                  else "no checkpoint is complete: once fixed, rerunning the same command starts afresh")
        raise CheckpointSaveError(f"writing the trained model into {output_dir} failed: {cause}; {resume}") from err
    finally:
        sys.argv = saved_argv
    return 0
