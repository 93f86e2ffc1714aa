"""The one seam between the package and the vision-language framework that runs the model (the host).

Everything outside `socialfusion_plugin/host/` reaches the model through a host, split by what a
caller needs from it: `InferenceHost`, `TrainingHost`, `DiagnosticsHost` and `EnvironmentHost`; a
`ModelHost` is all four. The host's own module names, conversation templates and loader quirks stay
behind it. Commands pick the host once (`active_host`) and pass it down; library code takes the
capability it uses as a parameter and never looks a host up. This module imports no host framework.
The built-in host is LLaVA-1.5 (`host/llava/llava_host.py`), registered as "llava" the first time a
host is asked for; another host registers itself with `HOSTS.register(name, host)` and is chosen with
`$SOCIALFUSION_HOST` (default "llava"). Capabilities a host may lack (training, merging, the
forgetting loss, ...) raise `HostCapabilityError` naming the host and what it cannot do.
"""
from __future__ import annotations

import abc
import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .errors import UserInputError
from .registry import Registry

HOST_ENV = "SOCIALFUSION_HOST"
DEFAULT_HOST = "llava"
_BUILT_IN = {"llava": "socialfusion_plugin.host.llava.llava_host"}  # imported when first asked for

# What a parameter is, by `DiagnosticsHost.parameter_role`: the trainable-parameter report and the
# gradient-conflict groups are built from these, never from module names.
LORA, CONNECTOR, VISION_TOWER, LANGUAGE_MODEL = "lora", "connector", "vision_tower", "language_model"
PARAMETER_ROLES = (LORA, CONNECTOR, VISION_TOWER, LANGUAGE_MODEL)


class HostEnvironmentError(UserInputError, RuntimeError):
    """The environment cannot run the host with the plugin; the message says how to fix it."""


class HostArgumentError(UserInputError):
    """An argument the host's training launcher refuses."""


class HostCapabilityError(UserInputError):
    """The active host does not offer what a command needs."""


@dataclass
class LoadedModel:
    """A model ready for inference, as `InferenceHost.load` returns it."""
    tokenizer: Any
    model: Any
    image_processor: Any
    context_len: int
    kind: str  # checkpoint kind, as `InferenceHost.checkpoint_kind` names it


# (questions, PIL images) -> per sample {option label: log-likelihood}; `InferenceHost.option_loglikelihoods`
OptionScorer = Callable[[Sequence[str], Sequence], List[Dict[str, float]]]


@dataclass
class TrainableModel:
    """A model whose connector and LoRA parameters require gradients (`DiagnosticsHost.load_trainable`).
    `state` is the host's own handle (e.g. the tokenizer and image processor a batch needs)."""
    model: Any
    kind: str
    loaded_keys: Dict[str, int] = field(default_factory=dict)  # file -> tensors loaded into the model
    state: Any = None


@dataclass(frozen=True)
class CheckpointFiles:
    """The file names a host's checkpoints use (what preflight checks look for)."""
    adapter_config: str
    adapter_weights: Tuple[str, ...]
    connector: str  # the trained connector beside LoRA adapters
    connector_safetensors: str  # the same tensors, read instead when present
    projector: str  # a connector-only (pretraining stage) checkpoint


class HostCapability:
    """What every capability shares: the host's name, its checkpoints' file names, the error for what it cannot do."""

    name: str = "host"
    checkpoint_files: Optional[CheckpointFiles] = None

    def _lacks(self, what: str):
        raise HostCapabilityError(f"host {self.name!r} cannot {what}")


class InferenceHost(HostCapability, abc.ABC):
    """Load a checkpoint and answer with it: free answers (`generate`) and the log-likelihood of
    answer options (`option_loglikelihoods`), strings in and numbers out. Abstract methods are what
    evaluation needs; the forgetting check and merging default to `HostCapabilityError`."""

    @abc.abstractmethod
    def checkpoint_kind(self, model_path, model_base: Optional[str]) -> str:
        """The kind of checkpoint in `model_path`, from its files; a user error when it cannot load."""

    @abc.abstractmethod
    def load_dtype(self, device, dtype) -> Any:
        """The torch dtype `load(device=device, dtype=dtype)` loads weights in (None: the host's default)."""

    @abc.abstractmethod
    def load(self, model_path, model_base: Optional[str] = None, device: str = "cpu", dtype=None) -> LoadedModel:
        """A checkpoint ready for `generate` and `option_loglikelihoods`."""

    @abc.abstractmethod
    def generate(self, loaded: LoadedModel, questions: Sequence[str], images: Sequence, conv_mode: str = "v1",
                 max_new_tokens: int = 32, temperature: float = 0.0, seed: int = 0) -> List[str]:
        """One answer per (question, PIL image); greedy at temperature 0, else sampled with `seed`."""

    @abc.abstractmethod
    def option_loglikelihoods(self, loaded: LoadedModel, options: Mapping[str, str], conv_mode: str = "v1",
                              complete: bool = True) -> OptionScorer:
        """A function scoring `options` (label -> answer text; the whole answer, or its start when not
        `complete`) for batches of (questions, images): per sample, {label: summed log-probability of
        that answer right after the prompt}. The options are checked here, once, so an option the
        model cannot score fails before any sample runs."""

    def merge_lora(self, model_path, model_base: str, out_dir, device: str = "cpu", dtype=None) -> Path:
        self._lacks("merge LoRA adapters")

    def is_language_model_only(self, model_path, model_base: Optional[str]) -> bool:
        return False

    def load_language_model(self, model_path, device: str = "cpu", dtype=None) -> LoadedModel:
        self._lacks("load a plain language model")

    def general_loss(self, loaded: LoadedModel, records: Sequence[Dict[str, Any]], load_image: Callable,
                     conv_mode: str = "v1", batch_size: int = 4, progress=None) -> Dict[str, Any]:
        self._lacks("measure the loss on general instruction data")


class TrainingHost(HostCapability):
    """Train: the launcher, what it would refuse, whether `--deepspeed` can run here, and the label
    check of `validate --model`. A host that cannot train says so (`HostCapabilityError`)."""

    def train(self, argv: List[str]) -> int:
        self._lacks("train")

    def train_argument_problems(self, argv: List[str]) -> List[str]:
        """What the training launcher would refuse in `argv`, in its words (checked before it runs)."""
        return []

    def label_check(self, model_path, version: str, model_max_length: int, image_tokens: int,
                    mm_use_im_start_end: bool):
        self._lacks("check tokenized labels")

    def deepspeed_cpu_blocker(self) -> Optional[str]:
        """None when a `--deepspeed` training run can run here; else why not."""
        return None

    def resume_checkpoint(self, output_dir) -> Optional[Path]:
        """The checkpoint folder a rerun of a train command into `output_dir` resumes from; None when
        it starts afresh (what pre-flight checks before a resumed run builds its model)."""
        return None


class DiagnosticsHost(HostCapability, abc.ABC):
    """Gradients of the training loss (the conflict diagnostic) and what each parameter is (the
    trainable-parameter report, the conflict groups)."""

    @abc.abstractmethod
    def load_trainable(self, model_path, model_base: Optional[str] = None, vision_tower: Optional[str] = None,
                       version: str = "v1", lora_r: int = 8, lora_alpha: int = 16,
                       projector_type: str = "mlp2x_gelu", dtype=None, seed: int = 0) -> TrainableModel:
        """A model with trainable connector + LoRA built from a checkpoint; weights as saved."""

    @abc.abstractmethod
    def training_batch(self, trainable: TrainableModel, records: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
        """Records (`conversations`, optional absolute `image`) -> one batch, preprocessed as in training."""

    @abc.abstractmethod
    def batch_loss(self, trainable: TrainableModel, batch: Dict[str, Any], device: str, dtype) -> Any:
        """The training loss of one `training_batch` (a scalar tensor that backpropagates)."""

    @abc.abstractmethod
    def parameter_role(self, name: str) -> str:
        """One of PARAMETER_ROLES for a parameter name of a built model."""

    def layer_index(self, name: str) -> Optional[int]:
        """The language-model layer a parameter belongs to, when it has one."""
        return None


class EnvironmentHost(HostCapability):
    """What `socialfusion doctor` asks the host: whether its framework imports, and which installed
    versions break it. A host without checks reports nothing."""

    def import_framework(self) -> str:
        """Import the host framework; a one-line description when it works, HostEnvironmentError
        naming the real cause when it does not."""
        return "nothing to import"

    def version_breaks(self) -> List[Tuple[str, str, Callable[[str], None]]]:
        """(package, PEP 440 specifier of versions that break the host, check(version) raising
        HostEnvironmentError with what to install instead)."""
        return []


class ModelHost(InferenceHost, TrainingHost, DiagnosticsHost, EnvironmentHost):
    """A whole host: every capability."""


HOSTS: Registry = Registry("host")


def active_host(name: Optional[str] = None) -> ModelHost:
    """The host named `name`, else `$SOCIALFUSION_HOST`, else "llava" (built-ins load on first use)."""
    name = name or os.environ.get(HOST_ENV) or DEFAULT_HOST
    if name not in HOSTS and name in _BUILT_IN:
        importlib.import_module(_BUILT_IN[name])  # registers itself
    if name not in HOSTS:
        known = ", ".join(sorted(set(HOSTS.names()) | set(_BUILT_IN)))
        raise UserInputError(f"${HOST_ENV}={name!r} is not a registered host; known: {known}")
    return HOSTS.get(name)
