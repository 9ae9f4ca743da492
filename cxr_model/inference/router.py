"""Which model answers an image: the installed models as one `ModelSet` that chooses per image.

By the patient's age when the header gives a usable one (the model whose card's age range holds
it); else by the models' population detectors (the one that accepts the image, the lowest
detector score relative to its limit first). An age that no model covers gets no label
(`ood_reason` "age"). One folder (`--model DIR`) is a set of one: it answers every image.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cxr_model.errors import ModelError
from cxr_model.imaging.preprocess import InputSpec
from cxr_model.imaging.reader import XrayImage
from cxr_model.inference.card import (
    CARD_NAME,
    NO_MODEL,
    ModelCard,
    load_verified_card,
    model_folders,
    models_dir,
)
from cxr_model.inference.predictor import ImageScorer, Model, Prediction, Prepared
from cxr_model.vocabulary import BackendName, Label, OodReason, Precision, Route

#: How the model that answered was chosen, as every output says it.
CHOSEN_BY = {
    Route.AGE: "chosen by the patient's age",
    Route.IMAGE: "chosen by the image: no usable age in the header",
    Route.NO_MODEL_FOR_AGE: "no installed model covers the patient's age",
}


def answered_by(model: str | None, route: str | None = None) -> str:
    """ "the adult model (3f2a9c1b0d4e), chosen by the patient's age" for a prediction's
    `model` and `route`; "" when it names no model."""
    if not model:
        return ""
    name, _, version = model.partition(" ")
    text = f"the {name} model" + (f" ({version})" if version else "")
    chosen = CHOSEN_BY.get(route)
    return f"{text}, {chosen}" if chosen else text


@dataclass(frozen=True)
class Unusable:
    """A model folder that could not be loaded, and why."""

    directory: Path
    reason: str


@dataclass(frozen=True)
class RoutedInput:
    """One image preprocessed for each distinct input spec of the set's models."""

    prepared: Mapping[InputSpec, Prepared]

    @property
    def first(self) -> Prepared:
        return next(iter(self.prepared.values()))


def detector_choice(models: Sequence[Model], predictions: Sequence[Prediction]) -> int:
    """Index of the model the population detectors give an image without a usable age to.

    A detector accepts when its score is at most its limit; of those that accept, the lowest
    score relative to its limit wins. When none accepts, a model without a detector is taken
    (the image is outside every detector's population); else the lowest relative score.
    """
    margins = [
        (p.population_score - m.card.population_threshold, k)
        for k, (m, p) in enumerate(zip(models, predictions, strict=True))
        if m.card.population_threshold is not None
    ]
    accepting = [margin for margin in margins if margin[0] <= 0.0]
    if accepting:
        return min(accepting)[1]
    undetected = [k for k, m in enumerate(models) if m.card.population_threshold is None]
    if undetected:
        return undetected[0]
    return min(margins)[1]


class ModelSet(ImageScorer):
    """The models that may answer, with the same calls as one `Model` (read, prepare,
    predict_batch, predict, heatmap); each prediction names its model (`Prediction.model`).

    `unusable` lists the folders that failed to load (a damaged or tampered model): the
    others keep working. Thread-affine like `Model`.
    """

    def __init__(self, models: Sequence[Model], unusable: Sequence[Unusable] = ()) -> None:
        if not models:
            raise ModelError("no model to run")
        self.models = list(models)
        self.unusable = list(unusable)
        self._by_label = {m.card.label: m for m in self.models}
        self.max_side = max(m.spec.size for m in self.models)
        self.ready_inputs = (XrayImage, RoutedInput)

    @property
    def cards(self) -> list[ModelCard]:
        return [m.card for m in self.models]

    @property
    def backend_name(self) -> str:
        return self.models[0].backend.name

    def only(self, what: str) -> Model:
        """The one model of the set; ModelError when there are several (`what` needs one)."""
        if len(self.models) != 1:
            names = ", ".join(m.card.short_name for m in self.models)
            raise ModelError(f"{what} needs one model: name its folder with --model ({names})")
        return self.models[0]

    def model_of(self, prediction: Prediction) -> Model:
        """The model that made a prediction."""
        try:
            return self._by_label[prediction.model]
        except KeyError:
            raise ModelError(f"no loaded model is {prediction.model!r}") from None

    def card_for(self, prediction: Prediction) -> ModelCard:
        """The card of the model that made a prediction (for its result objects)."""
        return self.model_of(prediction).card

    def prepare(self, image: XrayImage) -> RoutedInput:
        """Preprocess one image for every input spec of the set (thread-safe)."""
        prepared: dict[InputSpec, Prepared] = {}
        for model in self.models:
            if model.spec not in prepared:
                prepared[model.spec] = model.prepare(image)
        return RoutedInput(prepared)

    def choose_by_age(self, age: float | None) -> Model | None:
        """The first model whose card's age range holds `age` (None: no age, or none does)."""
        if age is None:
            return None
        return next((m for m in self.models if m.card.covers_age(age)), None)

    def predict_batch(
        self, images: Sequence[XrayImage | RoutedInput], reports: Sequence[str | None]
    ) -> list[Prediction]:
        """Predict several images, each by the model chosen for it (one forward pass per
        model); an image without a usable age runs through every model and the detectors
        pick."""
        if len(images) != len(reports):
            raise ValueError("images and reports differ in length")
        items = [i if isinstance(i, RoutedInput) else self.prepare(i) for i in images]
        if len(self.models) == 1:
            model = self.models[0]
            predictions = model.predict_batch([i.prepared[model.spec] for i in items], reports)
            return [dataclasses.replace(p, route=Route.ONLY) for p in predictions]
        chosen = [self.choose_by_age(item.first.age) for item in items]
        answers: dict[int, dict[int, Prediction]] = {}
        for k, model in enumerate(self.models):
            wanted = [i for i, c in enumerate(chosen) if c is None or c is model]
            outputs = model.predict_batch(
                [items[i].prepared[model.spec] for i in wanted], [reports[i] for i in wanted]
            )
            for i, prediction in zip(wanted, outputs, strict=True):
                answers.setdefault(i, {})[k] = prediction
        return [self._answer(items[i].first.age, chosen[i], answers[i]) for i in range(len(items))]

    def _answer(
        self, age: float | None, chosen: Model | None, answers: dict[int, Prediction]
    ) -> Prediction:
        if chosen is not None:
            return dataclasses.replace(answers[self.models.index(chosen)], route=Route.AGE)
        k = detector_choice(self.models, [answers[k] for k in range(len(self.models))])
        prediction = dataclasses.replace(answers[k], route=Route.IMAGE)
        if age is None:
            return prediction
        return dataclasses.replace(  # an age no model covers: no label, whichever ran
            prediction, ood=True, ood_reason=OodReason.AGE, route=Route.NO_MODEL_FOR_AGE
        )

    def heatmap(
        self, prediction: Prediction, target: str = Label.ABNORMAL, full_size: bool = True
    ) -> np.ndarray:
        """The prediction's heatmap by the model that made it (see `Model.heatmap`)."""
        return self.model_of(prediction).heatmap(prediction, target, full_size)

    @property
    def precision(self) -> str:
        """What runs: "int8" or "fp32" when every model runs it, else per model
        ("adult fp32, paediatric int8")."""
        kinds = {m.precision for m in self.models}
        if len(kinds) == 1:
            return kinds.pop()
        return ", ".join(f"{m.card.short_name} {m.precision}" for m in self.models)

    @property
    def precision_warnings(self) -> list[str]:
        """Per model, why its int8 run is not vouched for by its card (empty: none)."""
        return [
            f"{m.card.short_name}: {m.precision_warning}"
            for m in self.models
            if m.precision_warning
        ]


def load_models(
    directory: str | Path | None = None,
    backend: str = BackendName.ONNX,
    threads: int = 2,
    precision: str = Precision.AUTO,
) -> ModelSet:
    """The models that answer: `directory` (or `$CXR_MODEL_DIR`) when it is one model folder,
    forced for every image; else every folder of the models folder (`directory`, else
    `card.models_dir()`), those that fail to load or to verify (every file the card lists)
    listed in `unusable`. ModelError when none loads."""
    given = directory if directory is not None else os.environ.get("CXR_MODEL_DIR")
    if given is not None and (Path(given) / CARD_NAME).is_file():
        card = load_verified_card(given)
        model = Model(card, backend=backend, threads=threads, precision=precision)
        return ModelSet([model])
    folder = Path(given) if given is not None else models_dir()
    folders = model_folders(folder) if folder.is_dir() else []
    if not folders:
        raise ModelError(NO_MODEL, folder)
    models, unusable = [], []
    for sub in folders:
        try:
            card = load_verified_card(sub)
            models.append(Model(card, backend=backend, threads=threads, precision=precision))
        except ModelError as exc:
            unusable.append(Unusable(sub, exc.reason))
    if not models:
        reasons = "; ".join(f"{u.directory.name}: {u.reason}" for u in unusable)
        raise ModelError(f"no usable model in the models folder ({reasons})", folder)
    return ModelSet(models, unusable)
