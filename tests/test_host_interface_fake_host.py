"""The host seam, one capability at a time, against a minimal host that is not LLaVA:
- inference: `eval`'s model calls (generate, rank, scoring through the runner) and `eval-suite`
  (checkpoint kind, load dtype, load, generate and option log-likelihoods);
- diagnostics: the trainable-parameter report and the gradient-conflict diagnostic;
- training: the training entry's preflight (the launcher's refusals, DeepSpeed) and launch;
- environment: the doctor's version, import and accelerator checks.

`FakeHost` implements `ModelHost` with a tiny torch module that answers from a lookup (image color
-> gesture label); its parameter names share nothing with LLaVA's (`bridge`, `decoder.blocks.N.adapter`),
and importing `llava` is made impossible while the tests run, so anything that still reached LLaVA
directly would fail here.
"""
import json
import sys
from types import SimpleNamespace

import pytest
import torch

from socialfusion_plugin import registry
from socialfusion_plugin.host_interface import (CONNECTOR, HOSTS, LANGUAGE_MODEL, LORA, VISION_TOWER,
                                                HostCapabilityError, HostEnvironmentError, LoadedModel, ModelHost,
                                                TrainableModel, active_host)

COLOR_OF_LABEL = {"like": (200, 30, 30), "palm": (30, 200, 30), "peace": (30, 30, 200)}
LABEL_OF_COLOR = {color: label for label, color in COLOR_OF_LABEL.items()}
WRONG = {"palm": "like"}  # the fake model's one systematic mistake
NO_DEEPSPEED = "lookup tables are not sharded"


class LookupModel(torch.nn.Module):
    """Answers from a lookup; its parameters exist for the gradient diagnostic."""

    def __init__(self):
        super().__init__()
        self.tower = torch.nn.Linear(3, 4)
        self.tower.requires_grad_(False)
        self.bridge = torch.nn.Linear(4, 4)
        self.decoder = torch.nn.Module()
        self.decoder.blocks = torch.nn.ModuleList([torch.nn.Module(), torch.nn.Module()])
        for block in self.decoder.blocks:
            block.adapter = torch.nn.Linear(4, 4, bias=False)
            block.dense = torch.nn.Linear(4, 4)
            block.dense.requires_grad_(False)
        self.head = torch.nn.Linear(4, 1)
        self.head.requires_grad_(False)

    def answer(self, image):
        label = LABEL_OF_COLOR[image.getpixel((0, 0))]
        return WRONG.get(label, label)

    def loss(self, pixels, targets):
        hidden = self.bridge(self.tower(pixels))
        for block in self.decoder.blocks:
            hidden = torch.tanh(block.dense(hidden) + block.adapter(hidden))
        return torch.nn.functional.mse_loss(self.head(hidden).squeeze(-1), targets)


class FakeHost(ModelHost):
    name = "fake"

    def __init__(self):
        self.calls = []

    def checkpoint_kind(self, model_path, model_base):
        return "lookup"

    def load_dtype(self, device, dtype):
        return torch.float32

    def load(self, model_path, model_base=None, device="cpu", dtype=None):
        torch.manual_seed(0)
        return LoadedModel(tokenizer=None, model=LookupModel(), image_processor=None, context_len=64, kind="lookup")

    def generate(self, loaded, questions, images, conv_mode="v1", max_new_tokens=32, temperature=0.0, seed=0):
        self.calls.append(("generate", len(questions)))
        return [loaded.model.answer(image) for image in images]

    def option_loglikelihoods(self, loaded, options, conv_mode="v1", complete=True):
        order = {label: index for index, label in enumerate(options)}

        def score(questions, images):
            self.calls.append(("rank", len(questions)))
            rows = []
            for image in images:
                answer = loaded.model.answer(image)
                rows.append({label: (-0.1 if label == answer else -4.0 - order[label] / 100) for label in options})
            return rows

        return score

    def load_trainable(self, model_path, model_base=None, vision_tower=None, version="v1", lora_r=8, lora_alpha=16,
                       projector_type="mlp2x_gelu", dtype=None, seed=0):
        torch.manual_seed(seed)
        return TrainableModel(model=LookupModel(), kind="lookup", loaded_keys={"lookup.bin": 0})

    def training_batch(self, trainable, records):
        from PIL import Image

        pixels = torch.tensor([Image.open(r["image"]).getpixel((0, 0)) for r in records], dtype=torch.float32) / 255
        targets = torch.tensor([len(r["conversations"][1]["value"]) / 10 for r in records])
        return {"pixels": pixels, "targets": targets}

    def batch_loss(self, trainable, batch, device, dtype):
        return trainable.model.loss(batch["pixels"].to(device, dtype), batch["targets"].to(device, dtype))

    def parameter_role(self, name):
        if name.startswith("tower."):
            return VISION_TOWER
        if name.startswith("bridge."):
            return CONNECTOR
        if ".adapter." in name:
            return LORA
        return LANGUAGE_MODEL

    def layer_index(self, name):
        parts = name.split(".")
        return int(parts[2]) if name.startswith("decoder.blocks.") else None

    def train(self, argv):
        self.calls.append(("train", list(argv)))
        return 0

    def train_argument_problems(self, argv):
        return ["--lookup_only: the lookup host learns nothing else"] if "--lookup_only" in argv else []

    def deepspeed_cpu_blocker(self):
        return NO_DEEPSPEED

    def import_framework(self):
        return "lookup tables ready"

    def version_breaks(self):
        def check(version):
            raise HostEnvironmentError(f"filelock {version} jams the lookup tables: `pip install filelock==3.12.0`")

        return [("filelock", ">=3.13", check)]


@pytest.fixture
def fake_host(monkeypatch):
    host = FakeHost()
    HOSTS.register("fake", host)
    monkeypatch.setenv("SOCIALFUSION_HOST", "fake")
    for name in [name for name in sys.modules if name == "llava" or name.startswith("llava.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "llava", None)  # `import llava` raises ImportError while the test runs
    yield host
    HOSTS.unregister("fake")


@pytest.fixture
def gesture_data(tmp_path):
    from PIL import Image

    images = tmp_path / "images"
    images.mkdir()
    records = []
    for index, label in enumerate(["like", "palm", "peace", "like", "peace", "palm", "like"]):
        name = f"{index}.png"
        Image.new("RGB", (8, 8), COLOR_OF_LABEL[label]).save(images / name)
        records.append({"id": f"g{index}", "image": name, "meta": {"task": "gesture", "label": label},
                        "conversations": [{"from": "human", "value": "<image>\nWhich gesture?"},
                                          {"from": "gpt", "value": label}]})
    data = tmp_path / "gesture_test.json"
    data.write_text(json.dumps(records), encoding="utf-8")
    return data, images, records


def test_the_active_host_is_the_registered_one_and_unknown_names_are_refused(fake_host, monkeypatch):
    assert active_host() is fake_host
    monkeypatch.setenv("SOCIALFUSION_HOST", "nosuchhost")
    with pytest.raises(ValueError, match="nosuchhost.*known: .*fake.*llava"):
        active_host()
    with pytest.raises(HostCapabilityError, match="host 'fake' cannot merge"):
        fake_host.merge_lora("a", "b", "c")


@pytest.mark.parametrize("mode", ["generate", "rank"])
def test_evaluation_and_scoring_run_through_the_host(fake_host, gesture_data, tmp_path, mode):
    from socialfusion_plugin.evaluation.suite import model_calls
    from socialfusion_plugin.evaluation.rank_policy import rank_policy
    from socialfusion_plugin.evaluation.runner import EvalSettings, run_eval
    from socialfusion_plugin.evaluation.scoring import load_predictions, load_references, score_predictions

    data, images, records = gesture_data
    task = registry.TASKS.get("gesture")
    loaded = fake_host.load(tmp_path / "checkpoint")
    policy = rank_policy(task, task.options()) if mode == "rank" else None
    generate, rank = model_calls(fake_host, loaded, "v1", max_new_tokens=8, temperature=0.0, seed=0, policy=policy)
    out = tmp_path / f"{mode}.jsonl"
    summary = run_eval(records, data, images, out, EvalSettings(mode=mode, batch_size=3), generate=generate,
                       rank=rank, policy=policy, progress=False)
    assert (summary.total, summary.written) == (7, 7)
    assert fake_host.calls == [(mode, 3), (mode, 3), (mode, 1)]
    predictions = load_predictions(out)
    assert [predictions[r["id"]]["text"] for r in records] == ["like", "like", "peace", "like", "peace", "like", "like"]
    result = score_predictions(task, load_references(data, task), predictions)
    assert result["n"] == 7 and result["unparsed"] == 0
    assert result["metrics"]["accuracy"] == pytest.approx(5 / 7)


def test_eval_suite_loads_once_and_records_the_hosts_checkpoint_kind_and_dtype(fake_host, gesture_data, tmp_path,
                                                                               monkeypatch):
    from socialfusion_plugin.evaluation.scoring import load_predictions
    from socialfusion_plugin.evaluation.suite import SuiteSettings, evaluate_suite
    from socialfusion_plugin.evaluation.suite import Suite, SuiteEntry
    from socialfusion_plugin.evaluation.suite_processes import Processes

    data, images, records = gesture_data
    loads, load = [], fake_host.load
    monkeypatch.setattr(fake_host, "load", lambda *args, **kwargs: loads.append(args) or load(*args, **kwargs))
    suite = Suite([SuiteEntry("gesture", data, images, mode="rank")], "test")
    settings = SuiteSettings(model_path=tmp_path / "checkpoint", model_base=None, run_dir=tmp_path / "run",
                             device="cpu", batch_size=4, progress=False)
    lines = []
    (summary,) = evaluate_suite(suite, settings, Processes(), fake_host, echo=lines.append)
    assert (summary["predicted"], len(loads)) == (7, 1)
    assert fake_host.calls == [("rank", 4), ("rank", 3)]
    predictions = load_predictions(tmp_path / "run" / "eval" / "gesture.preds.jsonl")
    assert [predictions[r["id"]]["text"] for r in records] == ["like", "like", "peace", "like", "peace", "like", "like"]
    info = json.loads((tmp_path / "run" / "eval" / "gesture.eval.json").read_text(encoding="utf-8"))
    assert (info["checkpoint_kind"], info["provenance"]["dtype"]) == ("lookup", "float32")
    assert evaluate_suite(suite, settings, Processes(), fake_host, echo=lines.append)[0]["already_done"] == 7
    assert len(loads) == 1  # a rerun with every task done loads nothing


def test_trainable_report_and_conflict_groups_come_from_the_host(fake_host, gesture_data, tmp_path):
    from socialfusion_plugin.analysis.conflict.run import ConflictConfig, run_conflict
    from socialfusion_plugin.model.trainable_report import format_trainable_report, trainable_parameters_by_group

    counts = trainable_parameters_by_group(LookupModel(), fake_host.parameter_role)
    assert counts == {"language-model LoRA": (32, 32), "connector": (20, 20), "vision tower": (0, 16),
                      "language model (non-LoRA)": (0, 45)}
    report = format_trainable_report(LookupModel(), fake_host.parameter_role)
    assert "vision tower                            0 trainable" in report

    data, images, records = gesture_data
    other = tmp_path / "emotion_train.json"
    other.write_text(json.dumps([dict(r, id=f"e{i}", meta={"task": "emotion"},
                                      conversations=[r["conversations"][0], {"from": "gpt", "value": "Peace, Joy"}])
                                 for i, r in enumerate(records)]), encoding="utf-8")
    config = ConflictConfig(model_paths=[tmp_path / "checkpoint-5"], tasks=["gesture", "emotion"],
                            out_dir=tmp_path / "conflict", data={"gesture": data, "emotion": other},
                            image_folders={"gesture": images, "emotion": images}, batches=2, batch_size=3,
                            progress=False)
    result = run_conflict(config, fake_host)
    (checkpoint,) = result["checkpoints"]
    assert (checkpoint["kind"], checkpoint["step"]) == ("lookup", 5)
    groups = checkpoint["groups"]
    assert set(groups) == {"all", "connector", "lora", "lora_layer_00", "lora_layer_01"}
    assert groups["connector"]["parameters"] == 20 and groups["lora"]["parameters"] == 32
    assert groups["all"]["parameters"] == 52
    cosine = groups["all"]["matrix"][0][1]
    assert cosine is not None and -1.0 <= cosine <= 1.0 and cosine == pytest.approx(groups["all"]["matrix"][1][0])
    assert run_conflict(config, fake_host)["checkpoints"][0]["groups"] == groups  # seeded: the same numbers again


def test_the_training_entry_checks_and_launches_through_the_host(fake_host, gesture_data, tmp_path, capsys):
    from socialfusion_plugin.doctor.accelerator_check import deepspeed_cannot_run
    from socialfusion_plugin.resources import deepspeed_config
    from socialfusion_plugin.train import run

    data, images, records = gesture_data
    argv = ["--data_path", str(data), "--image_folder", str(images), "--output_dir", str(tmp_path / "run")]
    assert run(argv + ["--lookup_only"]) == 2
    assert "--lookup_only: the lookup host learns nothing else" in capsys.readouterr().err
    assert run(argv + ["--deepspeed", str(deepspeed_config("zero2"))]) == 2
    assert deepspeed_cannot_run(NO_DEEPSPEED) in capsys.readouterr().err
    assert fake_host.calls == []  # refused before the launcher runs
    assert run(argv) == 0
    assert fake_host.calls == [("train", argv)]


def test_the_doctor_reports_the_hosts_environment(fake_host, monkeypatch):
    from socialfusion_plugin.doctor import import_checks, run_checks
    from socialfusion_plugin.doctor.accelerator_check import deepspeed_cannot_run
    from socialfusion_plugin.doctor.findings import OK, PROBLEM, WARNING

    monkeypatch.setattr(import_checks, "import_module", lambda name: SimpleNamespace())  # only the host's own import
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    findings = run_checks(fake_host, lookup={"filelock": "3.13.1", "deepspeed": "0.12.6"}.get)
    by_check = {finding.check: finding for finding in findings}
    assert (by_check["version filelock"].level, by_check["version filelock"].message) == (
        PROBLEM, "filelock 3.13.1 jams the lookup tables: `pip install filelock==3.12.0`")
    assert (by_check["import fake"].level, by_check["import fake"].message) == (OK, "lookup tables ready")
    assert (by_check["deepspeed on CPU"].level, by_check["deepspeed on CPU"].message) == (
        WARNING, deepspeed_cannot_run(NO_DEEPSPEED))
