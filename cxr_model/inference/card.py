"""The model card: one JSON file beside the weights that says what they are and how to use them."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from cxr_model.errors import ModelError
from cxr_model.imaging.preprocess import InputSpec
from cxr_model.inference.layout import LayoutGuard

CARD_NAME = "model_card.json"
HEADS = ("fused", "image", "text")  # the three outputs, each with a threshold and calibration
ONNX_NAME = "model.onnx"
WEIGHTS_NAME = "weights.safetensors"
INT8_NAME = "model_int8.onnx"  # static int8 copy of model.onnx, self-contained (`cxr quantize`)
WEIGHT_FILES = (ONNX_NAME, WEIGHTS_NAME, INT8_NAME)
#: The files each precision runs. A folder may hold one precision only (the app bundle ships
#: each model at the precision `auto` runs): see `ModelCard.installed`.
PRECISION_FILES = {"int8": (INT8_NAME,), "fp32": (ONNX_NAME, WEIGHTS_NAME)}
NO_MODEL = (
    "no model is installed here (model_card.json not found, no model folders); train one "
    "with `cxr train` or point CXR_MODEL_DIR at a model folder"
)


def resources_dir() -> Path:
    """`resources/` of the frozen app or of the source tree."""
    root = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parents[2]))
    return root / "resources"


def models_dir() -> Path:
    """The folder of model folders: `$CXR_MODELS_DIR`, else the shipped `resources/models`."""
    env = os.environ.get("CXR_MODELS_DIR")
    return Path(env) if env else resources_dir() / "models"


def model_folders(directory: Path) -> list[Path]:
    """The model folders of a models folder, sorted by name (hidden entries left out)."""
    try:
        entries = sorted(directory.iterdir())
    except OSError as exc:
        raise ModelError(
            f"cannot list the models folder ({exc.strerror or exc})", directory
        ) from exc
    return [p for p in entries if p.is_dir() and not p.name.startswith(".")]


def default_model_dir() -> Path:
    """The one folder a command that needs a single model uses by default: `$CXR_MODEL_DIR`,
    else the only folder of `models_dir()`; with several, the caller must name one."""
    env = os.environ.get("CXR_MODEL_DIR")
    if env:
        return Path(env)
    folders = model_folders(models_dir()) if models_dir().is_dir() else []
    if len(folders) == 1:
        return folders[0]
    raise ModelError(
        "name the model folder with --model: "
        + ("none is installed" if not folders else f"{len(folders)} are installed"),
        models_dir(),
    )


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelCard:
    """Parsed model card; `data` is the JSON object as stored."""

    directory: Path
    data: dict

    @property
    def name(self) -> str:
        """The model's name (its folder's name when the card has none)."""
        return str(self.data.get("name") or self.directory.name)

    @property
    def version(self) -> str:
        """Which weights these are: the first 12 hex digits of their SHA-256 in the card."""
        digest = self.data.get("files", {}).get(WEIGHTS_NAME) or self.data.get("files", {}).get(
            ONNX_NAME, ""
        )
        return str(digest)[:12]

    @property
    def input_spec(self) -> InputSpec:
        """The network's input; ModelError when the card's `input` is not one this version
        reads (a model made by a newer CXR Desktop, say)."""
        try:
            spec = InputSpec(**self.data["input"])
            if spec.intensity == "match" and not spec.reference:
                raise ValueError('intensity "match" without its reference')
            return spec
        except (TypeError, ValueError) as exc:
            raise ModelError(
                f"the model card's input section is not one this version reads ({exc})",
                self.directory,
            ) from exc

    @property
    def text_mode(self) -> str:
        return self.data["architecture"]["text_mode"]

    @property
    def max_len(self) -> int:
        return int(self.data["architecture"]["max_len"])

    @property
    def vocab_size(self) -> int:
        return int(self.data["architecture"]["vocab_size"])

    def threshold(self, head: str) -> float:
        """Decision threshold of a head ('fused', 'image', 'text'), chosen on val."""
        return float(self.data["thresholds"][head])

    def calibration(self, head: str) -> tuple[float, float, float]:
        """(temperature, bias, floor) of a head:
        P = floor + (1 - 2 floor) * sigmoid(logit / temperature + bias)."""
        entry = self.data.get("calibration", {}).get(head, {})
        return (
            float(entry.get("temperature", 1.0)),
            float(entry.get("bias", 0.0)),
            float(entry.get("floor", 0.0)),
        )

    @property
    def ood_threshold(self) -> float | None:
        """Limit of the Mahalanobis score (None: the guard is not fitted)."""
        value = self.data.get("ood", {}).get("threshold")
        return None if value is None else float(value)

    @property
    def layout_guard(self) -> LayoutGuard | None:
        """The layout guard (`inference.layout`), None when the card has none."""
        section = self.data.get("ood", {}).get("layout")
        return None if section is None else LayoutGuard.from_card(section)

    @property
    def population_threshold(self) -> float | None:
        """Limit of the population detector's logit (None: no detector fitted)."""
        value = self.data.get("ood", {}).get("population", {}).get("threshold")
        return None if value is None else float(value)

    def uncertainty_margin(self, head: str) -> float:
        """Half-width of the band around a head's threshold read as "uncertain" (chosen on val)."""
        return float(self.data.get("uncertainty", {}).get(head, {}).get("margin", 0.0))

    @property
    def age_range(self) -> tuple[float, float] | None:
        """[min, max) patient age in years that the model was trained on, if the card says."""
        ages = self.data.get("population", {}).get("age_years")
        return None if ages is None else (float(ages[0]), float(ages[1]))

    def covers_age(self, age: float) -> bool:
        """True when the card states training ages and `age` (years) is among them."""
        ages = self.age_range
        return ages is not None and ages[0] <= age < ages[1]

    @property
    def short_name(self) -> str:
        """The model's name: its folder's (`resources/models/adult` -> "adult")."""
        return self.directory.name

    @property
    def label(self) -> str:
        """Name and version, the `model` field of every output ("adult 3f2a9c1b0d4e")."""
        return f"{self.short_name} {self.version}"

    @property
    def is_demo(self) -> bool:
        """True for models that are not trained (test fixtures)."""
        return bool(self.data.get("demo", False))

    def decision_inputs(self) -> dict:
        """What turns network outputs into decisions (thresholds, calibration, uncertainty band,
        the image guard's section): the int8 gates hold for these."""
        return decisions(self.data)

    def int8_unusable(self) -> str | None:
        """Why `auto` must not run the int8 model, or None when it may.

        It may when `cxr quantize` recorded it, its gates all passed, it was made from the
        model.onnx/weights this card lists, and the thresholds and OOD limit are those its
        gates were measured with.
        """
        section = self.data.get("int8")
        if not section or INT8_NAME not in self.data.get("files", {}):
            return "the model folder has no int8 model (make one with `cxr quantize`)"
        failed = [
            name
            for name, check in section.get("gates", {}).get("checks", {}).items()
            if not check.get("pass")
        ]
        if not section.get("gates", {}).get("passed") or failed:
            return "the int8 model failed its accuracy gates: " + (", ".join(failed) or "none run")
        files = self.data["files"]
        if any(files.get(name) != digest for name, digest in section.get("source", {}).items()):
            return "the int8 model was made from other weights; run `cxr quantize` again"
        if decisions(section.get("decision_inputs") or {}) != self.decision_inputs():
            return (
                "the thresholds, calibration or OOD guard changed since the int8 gates were "
                "measured; run `cxr quantize` again"
            )
        return None

    def measured(self, split: str = "test") -> dict:
        """The figures `cxr evaluate --record` stored for `split`, per head ({} when none)."""
        return self.data.get("metrics", {}).get(split, {})

    def installed(self, precision: str) -> bool:
        """True when the card lists every file of `precision` and the folder holds them."""
        listed = self.data.get("files", {})
        return all(
            name in listed and (self.directory / name).is_file()
            for name in PRECISION_FILES[precision]
        )

    def absent(self, precision: str) -> bool:
        """True when the folder holds none of the files of `precision` (not installed, as in
        the app bundle; one file of two is a damaged folder instead)."""
        return not any((self.directory / name).is_file() for name in PRECISION_FILES[precision])

    def verified_file(self, name: str) -> Path:
        """Path of a weight file after checking its SHA-256 against the card."""
        expected = self.data.get("files", {}).get(name)
        path = self.directory / name
        if expected is None:
            raise ModelError(f"the model card lists no checksum for {name}", self.directory)
        if not path.is_file():
            raise ModelError(f"{name} is missing from the model folder", self.directory)
        if sha256_of(path) != expected:
            raise ModelError(
                f"{name} does not match the SHA-256 in the model card: the file is damaged "
                "or was modified; reinstall the model",
                path,
            )
        return path


def load_verified_card(directory: str | Path) -> ModelCard:
    """`load_card`, then the SHA-256 of every file the card lists checked (not only those the
    chosen precision runs): a damaged fallback makes the folder unusable too. A precision whose
    files are all absent is not installed (the bundle ships one); one with a file missing, or
    a folder with neither, is damaged."""
    card = load_card(directory)
    for precision, names in PRECISION_FILES.items():
        if not card.absent(precision):
            for name in names:
                if name in card.data["files"]:
                    card.verified_file(name)
    if not any(card.installed(p) for p in PRECISION_FILES):
        raise ModelError(
            f"the model folder holds no complete weights ({ONNX_NAME} with {WEIGHTS_NAME}, or "
            f"{INT8_NAME}); reinstall the model",
            card.directory,
        )
    return card


def load_card(directory: str | Path | None = None) -> ModelCard:
    """Read `model_card.json` from a model folder (default: the shipped model)."""
    directory = Path(directory) if directory is not None else default_model_dir()
    path = directory / CARD_NAME
    if not path.is_file():
        raise ModelError(NO_MODEL, directory)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"model card is unreadable ({exc})", path) from exc
    for key in ("architecture", "input", "tokenizer", "thresholds", "files"):
        if key not in data:
            raise ModelError(f"model card has no {key!r} section", path)
    return ModelCard(directory=directory, data=data)


def decisions(data: dict) -> dict:
    """The sections of a card (or of its int8 record) that turn outputs into decisions, less
    what `cxr evaluate --record` measured of them (`measured`: figures, not limits)."""
    return {
        key: {k: v for k, v in section.items() if k != "measured"}
        if isinstance(section, dict)
        else section
        for key in ("thresholds", "calibration", "uncertainty", "ood")
        for section in [data.get(key)]
    }


def write_card(directory: Path, data: dict) -> Path:
    """Write the card, recording the SHA-256 of every weight file present in the folder."""
    files = {
        name: sha256_of(directory / name) for name in WEIGHT_FILES if (directory / name).is_file()
    }
    data = {**data, "files": files}
    path = directory / CARD_NAME
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


def record_metrics(
    card: ModelCard, split: str, metrics: dict, sections: dict[str, dict] | None = None
) -> Path:
    """Store one split's measured metrics in the card on disk; each of `sections` (e.g. the
    guard figures for "ood") goes to card[section]["measured"][split]."""
    data = {**card.data, "metrics": {**card.data.get("metrics", {}), split: metrics}}
    for name, figures in (sections or {}).items():
        section = dict(data.get(name, {}))
        section["measured"] = {**section.get("measured", {}), split: figures}
        data[name] = section
    return write_card(card.directory, data)
