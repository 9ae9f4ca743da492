"""The fixed words of the product: labels, readings, guard reasons, precisions, engines.

Each is a `StrEnum`, so a member compares equal to (and serialises as) its string: CSV columns
and JSON keep the same text, while code names the member instead of spelling the string.
"""

from __future__ import annotations

from enum import StrEnum


class Label(StrEnum):
    """The model's two classes; also the two heatmap targets."""

    NORMAL = "normal"
    ABNORMAL = "abnormal"


#: Class index -> label, in the order of the network's outputs.
CLASS_LABELS = (Label.NORMAL, Label.ABNORMAL)


class Reading(StrEnum):
    """What a result reads for a person: a label, "uncertain" inside the band, or none."""

    NORMAL = "normal"
    ABNORMAL = "abnormal"
    UNCERTAIN = "uncertain"
    NO_LABEL = "none"


class Truth(StrEnum):
    """The radiologist's ground truth for a study (a verdict on the AI's result)."""

    NORMAL = "normal"
    ABNORMAL = "abnormal"
    UNGRADABLE = "ungradable"  # not gradable: left out of training and of the figures


class OodReason(StrEnum):
    """Why a prediction is outside what the model was made for."""

    AGE = "age"  # the header's age is outside the model's population: no label
    IMAGE = "image"  # the image guard: not like the training X-rays (label kept, flagged)


class Route(StrEnum):
    """How the model that answered an image was chosen (`cxr_model.inference.router`)."""

    ONLY = "only"  # one model loaded (or forced with --model): it answers every image
    AGE = "age"  # the header's age lies in its card's age range
    IMAGE = "image"  # no usable age: the models' population detectors chose it
    NO_MODEL_FOR_AGE = "no model for the age"  # no model covers the age: no label


class Precision(StrEnum):
    """Which weights run: `auto` is int8 while its gates hold for the card, else fp32."""

    AUTO = "auto"
    INT8 = "int8"
    FP32 = "fp32"


class Engine(StrEnum):
    """Where a folder scan runs."""

    LOCAL = "local"
    RAY = "ray"


class BackendName(StrEnum):
    """The runtime of a model: ONNX Runtime (shipped) or PyTorch (training installs)."""

    ONNX = "onnx"
    TORCH = "torch"


def choices(enum: type[StrEnum]) -> list[str]:
    """The members' strings, for argparse `choices=` and combo boxes."""
    return [member.value for member in enum]
