"""The host package versions the plugin is tested with, and the versions known to break it (data).

TESTED maps a distribution name to (lowest, highest) tested version. Lowest = CI's LLaVA lane
(constraints/llava-c121f04.txt: LLaVA's own pins at c121f04, and constraints/llava-lane-floors.txt:
the floors of the plugin's ranges for the libraries LLaVA leaves unpinned); highest = what CI's newest-allowed lane resolved when this table was
last written (scripts/setup-newest-lane.sh prints it); the project lane (constraints/cpu.txt) lies in
between. Tests keep this table, those `==` pins and pyproject.toml's floors in agreement.

KNOWN_BREAKS lists versions (alone or together with another package's version) that are known to
stop training or evaluation, each with the reason and what to install instead. Messages for
the host's own packages (transformers and peft for LLaVA) come from the host
(`ModelHost.version_breaks`), so the doctor and the training start-up check say the same thing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple, Union

from ..host_interface import HostEnvironmentError, active_host

TESTED: Dict[str, Tuple[str, str]] = {
    "torch": ("2.1.2", "2.13.0"),
    "torchvision": ("0.16.2", "0.28.0"),
    "transformers": ("4.37.2", "4.37.2"),
    "tokenizers": ("0.15.1", "0.15.2"),
    "accelerate": ("0.21.0", "0.34.2"),
    "peft": ("0.13.2", "0.13.2"),
    "deepspeed": ("0.12.6", "0.19.8"),
    "open_clip_torch": ("2.32.0", "2.32.0"),
    "timm": ("0.6.13", "1.0.31"),
    "numpy": ("1.26.4", "2.4.6"),
    "datasets": ("5.0.1", "5.0.1"),
    "pyarrow": ("25.0.1", "25.0.1"),
    "scikit-learn": ("1.2.2", "1.9.1"),
    "sentencepiece": ("0.1.99", "0.2.3"),
    # libraries LLaVA leaves unpinned: lowest = the LLaVA lane's floors (constraints/llava-lane-floors.txt)
    "pillow": ("10.0.0", "13.0.0"),
    "PyYAML": ("6.0.1", "6.0.4"),
    "tqdm": ("4.66.3", "4.70.1"),
    "scipy": ("1.10.0", "1.17.1"),
    "matplotlib": ("3.7.0", "3.11.2"),
    "filelock": ("3.12.0", "4.3.1"),
}

# Only needed for some runs: missing is an info line, not a problem.
OPTIONAL = {
    "deepspeed": "needed only for --deepspeed runs; install the plugin's [train] extra, or the version LLaVA pins "
                 "for its torch 2.1.2: `pip install deepspeed==0.12.6`",
}

def _host_message(check: Callable[[str], None]) -> Callable[[str], str]:
    def message(version: str) -> str:
        try:
            check(version)
        except HostEnvironmentError as err:
            return str(err)
        return ""

    return message


@dataclass(frozen=True)
class KnownBreak:
    package: str
    versions: str  # PEP 440 specifier the installed version matches when it breaks
    # why it breaks and what to install instead; a template with {version} and {other}, or a function
    # of the installed version
    reason: Union[str, Callable[[str], str]]
    together_with: Optional[Tuple[str, str]] = None  # (package, specifier): breaks only with this too

    def message(self, version: str, other: Optional[str] = None) -> str:
        if callable(self.reason):
            return self.reason(version)
        return self.reason.format(version=version, other=other)


KNOWN_BREAKS = tuple(
    KnownBreak(package, versions, _host_message(check)) for package, versions, check in active_host().version_breaks()
) + (
    KnownBreak(
        "open_clip_torch", "<2.32",
        "open_clip_torch {version} has no VisionTransformer.forward_intermediates (added in 2.32.0), which "
        "the vision tower uses to select a layer: `pip install open_clip_torch==2.32.0`",
    ),
    KnownBreak(
        "open_clip_torch", ">=3",
        "open_clip_torch {version} requires timm>=1.0.17 but timm {other} is installed (LLaVA pins 0.6.13): "
        "`pip install open_clip_torch==2.32.0`, which works with LLaVA's timm",
        together_with=("timm", "<1.0.17"),
    ),
    KnownBreak(
        "pyarrow", ">=26",
        "pyarrow {version} refuses numpy<2 at import and numpy {other} is installed (LLaVA's gradio 4.16 pins "
        "numpy 1.x), so `datasets` and transformers' trainer cannot import: `pip install pyarrow==25.0.1`",
        together_with=("numpy", "<2"),
    ),
)
