"""The inference API the CLI and the app share: load_model, predict, cam."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from cxr_model.imaging.dicom_meta import checked_age_years
from cxr_model.imaging.preprocess import preprocess, resize_float
from cxr_model.imaging.reader import XrayImage, read_image, read_image_bytes
from cxr_model.inference.backends import RawOutputs, backend_class
from cxr_model.inference.card import ModelCard, load_card
from cxr_model.text.inputs import report_inputs
from cxr_model.text.tokenizer import Tokenizer, tokenizer_from_json
from cxr_model.vocabulary import CLASS_LABELS, BackendName, Label, OodReason, Precision, Reading

TARGETS = (Label.ABNORMAL, Label.NORMAL)  # heatmap targets, the default first


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function."""
    return np.where(
        x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x)))
    )


@dataclass(frozen=True)
class Prepared:
    """A preprocessed model input (1, S, S), the original image size (width, height), the
    patient's age in years when the file's header says it (DICOM) and why a header's age was
    set aside (malformed: treated as no age)."""

    array: np.ndarray
    size: tuple[int, int]
    age: float | None = None
    age_warning: str | None = None


@dataclass(frozen=True)
class Prediction:
    """Result for one image (+ optional report). `probability` is P(abnormal); `model` names
    the model that answered (name and version), `route` how it was chosen (vocabulary.Route)."""

    probability: float
    image_probability: float
    text_probability: float | None
    label: str
    threshold: float
    used_report: bool
    discordant: bool
    uncertain: bool
    ood: bool | None
    ood_reason: str | None
    ood_score: float
    population_score: float
    patient_age: float | None
    latency_ms: float
    image_size: tuple[int, int]
    cam_raw: np.ndarray = field(repr=False, compare=False)
    model: str | None = None
    route: str | None = None
    age_warning: str | None = None

    @property
    def has_label(self) -> bool:
        """False when the patient is outside the model's population by age: no label then."""
        return self.ood_reason != OodReason.AGE

    @property
    def reading(self) -> Reading:
        """What the result reads for a person: no label, uncertain, or the label."""
        if not self.has_label:
            return Reading.NO_LABEL
        return Reading.UNCERTAIN if self.uncertain else Reading(self.label)

    def to_dict(self) -> dict:
        """JSON-ready fields (the CLI contract), without the raw CAM."""
        data = asdict(self)
        del data["cam_raw"]
        data["image_size"] = list(self.image_size)
        return data


def heatmap(
    cam_raw: np.ndarray, target: str, input_size: int, out_size: tuple[int, int] | None = None
) -> np.ndarray:
    """Class-specific Grad-CAM (closed form) at out_size (width, height), in [0, 1].

    ReLU of the class-weighted layer4 maps (negated for 'normal'), upsampled bilinearly to
    the model input, min-max scaled like pytorch-grad-cam, then resized to the image
    (`out_size`; None keeps the model input's square, which a viewer scales when painting).
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, not {target!r}")
    signed = cam_raw if target == Label.ABNORMAL else -cam_raw
    cam = resize_float(np.maximum(signed, 0.0), input_size, input_size)
    cam = cam - cam.min()
    peak = cam.max()
    cam = cam / (peak + 1e-7) if peak > 0 else cam
    if out_size is not None:
        cam = resize_float(cam, *out_size)
    return np.clip(cam, 0.0, 1.0)


def evidence(prediction: Prediction, target: str) -> float:
    """How strongly a prediction supports `target`, in [0, 1]: 1 at or beyond the threshold,
    fading linearly to 0 as the probability moves away from it on the other side.

    The viewer and `--heatmap` scale the min-max-scaled CAM by this, so a clearly normal
    X-ray does not show "abnormal" hot spots as bright as a pneumonia's.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, not {target!r}")
    p, t = prediction.probability, prediction.threshold
    if target == Label.NORMAL:
        p, t = 1.0 - p, 1.0 - t
    if p >= t or t <= 0.0:
        return 1.0
    return max(p / t, 0.0)


def scaled_heatmap(
    prediction: Prediction, target: str, input_size: int, full_size: bool = True
) -> np.ndarray:
    """The heatmap of a prediction scaled by the evidence for `target`: at its image's
    resolution (`--heatmap`, the Secondary Capture) or, without `full_size`, at the model
    input's (the viewer scales it onto the image when painting)."""
    out_size = prediction.image_size if full_size else None
    raw = heatmap(prediction.cam_raw, target, input_size, out_size)
    return raw * np.float32(evidence(prediction, target))


class ImageScorer(ABC):
    """What `Model` and `router.ModelSet` share: files read at `max_side`, one image predicted
    through `predict_batch`; `ready_inputs` are the types `predict_batch` takes as they are."""

    max_side: int
    ready_inputs: tuple[type, ...] = (XrayImage,)

    @abstractmethod
    def predict_batch(self, images: Sequence, reports: Sequence[str | None]) -> list[Prediction]:
        """Predict several images (of `ready_inputs`) with their reports."""

    def read(self, path: str | Path) -> XrayImage:
        """Read a file the way the model always sees it (JPEG decoded near model size)."""
        return read_image(path, max_side=self.max_side)

    def read_bytes(self, data: bytes, source: str) -> XrayImage:
        """`read` for a file's bytes already in memory; `source` names the file."""
        return read_image_bytes(data, source, max_side=self.max_side)

    def predict(self, image, report: str | None = None) -> Prediction:
        """Predict one image (a path is read first) with an optional report."""
        if not isinstance(image, self.ready_inputs):
            image = self.read(image)
        return self.predict_batch([image], [report])[0]


class Model(ImageScorer):
    """A loaded model: card + tokenizer + backend. Thread-affine: use from one thread.
    `predict` gives the fused, image-only and text-only probabilities.

    `precision` is what runs ("int8" or "fp32"); `precision_warning` says why an int8 run that
    was asked for is not vouched for by the card's gates (None otherwise).
    """

    def __init__(
        self,
        card: ModelCard,
        backend: str = BackendName.ONNX,
        threads: int = 2,
        precision: str = Precision.AUTO,
    ) -> None:
        self.card = card
        self.backend = backend_class(backend)(card, threads=threads, precision=precision)
        self.precision: str = self.backend.precision
        self.precision_warning: str | None = self.backend.warning
        self.tokenizer: Tokenizer = tokenizer_from_json(card.data["tokenizer"])
        self.spec = card.input_spec
        self.layout = card.layout_guard
        self.max_side = self.spec.size
        self.ready_inputs = (XrayImage, Prepared)

    def prepare(self, image: XrayImage) -> Prepared:
        """Preprocess one image for the network (thread-safe: no model state is touched)."""
        age, warning = checked_age_years(image.meta)
        return Prepared(preprocess(image, self.spec), image.original_size, age, warning)

    def network_inputs(self, images: Sequence[Prepared], reports: Sequence[str | None]):
        """The three network inputs (image batch, text vectors, has-report mask)."""
        batch = np.stack([image.array for image in images])
        text, has_report = report_inputs(
            self.tokenizer, reports, self.card.text_mode, self.card.max_len
        )
        return batch, text, has_report

    def _prob(self, logits: np.ndarray, head: str) -> np.ndarray:
        temperature, bias, floor = self.card.calibration(head)
        logits = np.asarray(logits, dtype=np.float64)
        return floor + (1.0 - 2.0 * floor) * sigmoid(logits / temperature + bias)

    def out_of_population(self, age: float | None) -> bool:
        """True when the patient's age is known and outside the card's training ages."""
        return age is not None and self.card.age_range is not None and not self.card.covers_age(age)

    def _predictions(
        self,
        raw: RawOutputs,
        has_report: np.ndarray,
        latency_ms: float,
        prepared: Sequence[Prepared],
    ) -> list[Prediction]:
        card = self.card
        fused = self._prob(raw.fused_logit, "fused")
        image = self._prob(raw.image_logit, "image")
        text = self._prob(raw.text_logit, "text")
        ood_threshold, population_threshold = card.ood_threshold, card.population_threshold
        layout = self.layout
        off_layout = (
            layout.distances(np.stack([item.array for item in prepared])) > layout.threshold
            if layout is not None
            else np.zeros(len(prepared), dtype=bool)
        )
        guarded = (
            ood_threshold is not None or population_threshold is not None or layout is not None
        )
        results = []
        for i, item in enumerate(prepared):
            used = bool(has_report[i, 0] > 0)
            head = "fused" if used else "image"
            probability = float(fused[i] if used else image[i])
            threshold = card.threshold(head)
            image_abnormal = image[i] >= card.threshold("image")
            text_abnormal = text[i] >= card.threshold("text")
            by_age = self.out_of_population(item.age)
            by_image = bool(
                (ood_threshold is not None and raw.ood_score[i] > ood_threshold)
                or (
                    population_threshold is not None
                    and raw.population_score[i] > population_threshold
                )
                or off_layout[i]
            )
            reason = OodReason.AGE if by_age else OodReason.IMAGE if by_image else None
            results.append(
                Prediction(
                    probability=probability,
                    image_probability=float(image[i]),
                    text_probability=float(text[i]) if used else None,
                    label=CLASS_LABELS[int(probability >= threshold)],
                    threshold=threshold,
                    used_report=used,
                    discordant=bool(used and image_abnormal != text_abnormal),
                    uncertain=abs(probability - threshold) < card.uncertainty_margin(head),
                    ood=None if not (guarded or by_age) else reason is not None,
                    ood_reason=reason,
                    ood_score=float(raw.ood_score[i]),
                    population_score=float(raw.population_score[i]),
                    patient_age=item.age,
                    latency_ms=latency_ms,
                    image_size=tuple(item.size),
                    cam_raw=raw.cam[i],
                    model=card.label,
                    age_warning=item.age_warning,
                )
            )
        return results

    def predict_batch(
        self, images: Sequence[XrayImage | Prepared], reports: Sequence[str | None]
    ) -> list[Prediction]:
        """Predict several images at once (one forward pass)."""
        if len(images) != len(reports):
            raise ValueError("images and reports differ in length")
        if not images:
            return []
        start = time.perf_counter()
        prepared = [i if isinstance(i, Prepared) else self.prepare(i) for i in images]
        batch, text, has_report = self.network_inputs(prepared, reports)
        raw = self.backend.run(batch, text, has_report)
        latency = (time.perf_counter() - start) * 1000.0 / len(images)
        return self._predictions(raw, has_report, latency, prepared)

    def cam(
        self, image: XrayImage | str | Path, report: str | None = None, target: str = Label.ABNORMAL
    ) -> np.ndarray:
        """Class-specific heatmap (H, W) in [0, 1] at the image's original resolution."""
        return self.heatmap(self.predict(image, report), target)

    @property
    def cards(self) -> list[ModelCard]:
        """The cards of the models that may answer: this one (a `ModelSet` has several)."""
        return [self.card]

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def card_for(self, prediction: Prediction) -> ModelCard:
        """The card behind a prediction of this model (a `ModelSet` has several)."""
        return self.card

    def heatmap(
        self, prediction: Prediction, target: str = Label.ABNORMAL, full_size: bool = True
    ) -> np.ndarray:
        """Heatmap of an existing prediction at its image's original resolution (or the
        model input's, without `full_size`), scaled by the evidence for `target` (see
        `evidence`): full strength only at or past the threshold."""
        return scaled_heatmap(prediction, target, self.spec.size, full_size)


def load_model(
    directory: str | Path | None = None,
    backend: str = BackendName.ONNX,
    threads: int = 2,
    precision: str = Precision.AUTO,
) -> Model:
    """Load one model folder (default: see `card.default_model_dir`), verifying checksums.

    precision: "auto" (int8 when the card's int8 gates passed, else fp32), "int8" or "fp32".
    """
    return Model(load_card(directory), backend=backend, threads=threads, precision=precision)
