"""Which device and distributed backend a run would use, and whether `--deepspeed` can run here."""
from __future__ import annotations

from typing import List

from ..host_interface import TrainingHost
from .findings import OK, PROBLEM, WARNING, Finding
from .import_checks import describe_error
from .version_checks import VersionLookup, installed_version


def check_accelerator(host: TrainingHost, lookup: VersionLookup = installed_version) -> List[Finding]:
    try:
        import torch
    except Exception as err:
        return [Finding("accelerator", PROBLEM, f"torch does not import: {describe_error(err)}")]
    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        names = ", ".join(torch.cuda.get_device_name(index) for index in range(count))
        backend = "nccl" if torch.distributed.is_available() and torch.distributed.is_nccl_available() else "gloo"
        return [Finding("accelerator", OK, f"CUDA, {count} device(s): {names}; distributed backend {backend}")]
    findings = [Finding("accelerator", OK, "CPU only (torch sees no CUDA device); distributed backend gloo")]
    if lookup("deepspeed") is not None:  # without DeepSpeed there is no --deepspeed run to warn about
        blocker = host.deepspeed_cpu_blocker()
        if blocker is not None:
            findings.append(Finding("deepspeed on CPU", WARNING, deepspeed_cannot_run(blocker)))
    return findings


def deepspeed_cannot_run(blocker: str) -> str:
    """The doctor's sentence; `train --deepspeed` stops with it too, before the model loads
    (preflight/train_checks.py)."""
    return f"--deepspeed cannot run on this CPU-only machine: {blocker}; train here without --deepspeed"
