"""How the app makes its model: the one place that turns a model folder into a factory
(called on the worker threads, each of which owns its model)."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

from cxr_desktop.settings import AppSettings
from cxr_desktop.workers.prediction import ModelFactory
from cxr_model.inference.card import CARD_NAME
from cxr_model.inference.router import load_models
from cxr_model.vocabulary import Precision


def model_factory(directory: Path | None, precision: str = Precision.AUTO) -> ModelFactory:
    """load_models(directory) on ONNX Runtime at `precision` (see AppSettings.precision): one
    model folder, forced; None: $CXR_MODEL_DIR, else the installed models, chosen per image."""
    return partial(load_models, directory, precision=precision)


def startup_model_dir(given: Path | None, settings: AppSettings) -> Path | None:
    """`--model` when given; else, unless $CXR_MODEL_DIR says otherwise, the folder opened
    last if it still holds a model card; else None (the default)."""
    if given is not None or os.environ.get("CXR_MODEL_DIR"):
        return given
    remembered = settings.model_dir()
    return remembered if remembered and (remembered / CARD_NAME).is_file() else None
