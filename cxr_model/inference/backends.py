"""Inference backends. Each takes preprocessed arrays and returns the network's raw outputs.

`OnnxBackend` (default, no torch) runs the exported graph on ONNX Runtime: the static int8
copy (`model_int8.onnx`) when the precision asks for it, else the fp32 graph. Other backends
satisfy `Backend` and are registered by the program that wants them (`cxr_model.assembly`
registers the PyTorch one of the training code); inference itself never imports training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from cxr_model.errors import ModelError
from cxr_model.inference.card import INT8_NAME, ONNX_NAME, WEIGHTS_NAME, ModelCard
from cxr_model.vocabulary import BackendName, Precision, choices


@dataclass(frozen=True)
class RawOutputs:
    """Network outputs for a batch: logits (B,), raw CAM (B,h,w), features (B,512) and the two
    out-of-distribution scores (B,): Mahalanobis distance and population detector logit."""

    fused_logit: np.ndarray
    image_logit: np.ndarray
    text_logit: np.ndarray
    cam: np.ndarray
    features: np.ndarray
    ood_score: np.ndarray
    population_score: np.ndarray


class Backend(Protocol):
    """What a Model runs: `precision` that runs, `warning` (why int8 is not vouched for)."""

    name: str
    precision: str
    warning: str | None

    def run(self, images: np.ndarray, text: np.ndarray, has_report: np.ndarray) -> RawOutputs:
        """Raw outputs for a batch of preprocessed images and tokenised reports."""
        ...


class BackendFactory(Protocol):
    """A backend class (or any callable of that shape)."""

    def __call__(self, card: ModelCard, threads: int = ..., precision: str = ...) -> Backend: ...


def raw_outputs(outputs) -> RawOutputs:
    """RawOutputs from the seven network outputs in OUTPUT_NAMES order (arrays or tensors)."""
    fused, image, text, cam, features, ood, population = (
        np.asarray(o, dtype=np.float32) for o in outputs
    )
    return RawOutputs(
        fused[:, 0], image[:, 0], text[:, 0], cam, features, ood[:, 0], population[:, 0]
    )


def choose_precision(card: ModelCard, precision: str) -> tuple[str, str | None]:
    """The precision that runs ("int8" or "fp32") and, for an int8 run the card's gates do not
    vouch for, why not (a warning to show). `auto` runs int8 when its gates passed, fp32 when
    they did not, or the one precision the folder holds; ModelError for a precision asked for
    whose files are not installed."""
    if precision not in choices(Precision):
        raise ModelError(
            f"unknown precision {precision!r}; choose from {', '.join(choices(Precision))}"
        )
    unusable = card.int8_unusable()
    if precision == Precision.AUTO:
        chosen = Precision.FP32 if unusable else Precision.INT8
        other = Precision.INT8 if chosen == Precision.FP32 else Precision.FP32
        if card.absent(chosen) and card.installed(other):  # a folder holding one runs that one
            chosen = other
        warning = unusable if chosen == Precision.INT8 else None
    elif precision == Precision.INT8 and INT8_NAME not in card.data.get("files", {}):
        raise ModelError(
            "this model folder has no int8 model; make one with `cxr quantize` "
            "or choose the fp32 precision",
            card.directory,
        )
    else:
        chosen = Precision(precision)
        warning = unusable if chosen == Precision.INT8 else None
    if card.absent(chosen):
        raise ModelError(
            f"the {chosen} files of this model are not installed here (the app bundle ships "
            "each model at the precision `auto` runs); choose the auto precision, or run "
            f"{chosen} from a source install of CXR Desktop",
            card.directory,
        )
    return chosen, warning


def session_options(threads: int):
    """ONNX Runtime session options for both precisions (see benchmarks/RESULTS.md)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    # Idle worker threads sleep instead of spinning: the app and the listener run the model in
    # bursts, and a spinning pool takes the cores their other threads need; a scan's rate is
    # unchanged (benchmarks/LISTEN_LOAD.md).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


class OnnxBackend:
    """ONNX Runtime session over the graph of the chosen precision, verified against the card:
    int8 reads `model_int8.onnx` alone; fp32 reads `model.onnx` and the weights it points into.
    `precision` says which runs; `warning` why an int8 run is not vouched for by its gates."""

    name = BackendName.ONNX

    def __init__(self, card: ModelCard, threads: int = 2, precision: str = Precision.AUTO) -> None:
        import onnxruntime as ort

        self.precision, self.warning = choose_precision(card, precision)
        if self.precision == Precision.INT8:
            path = card.verified_file(INT8_NAME)
        else:
            path = card.verified_file(ONNX_NAME)
            card.verified_file(WEIGHTS_NAME)  # the graph reads its weights from this file
        options = session_options(threads)
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"ONNX Runtime cannot load the model ({exc})", path) from exc

    def run(self, images: np.ndarray, text: np.ndarray, has_report: np.ndarray) -> RawOutputs:
        feeds = {"image": images, "text": text, "has_report": has_report}
        return raw_outputs(self.session.run(None, feeds))


_REGISTERED: dict[str, BackendFactory] = {BackendName.ONNX: OnnxBackend}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make `name` choosable in `Model(card, backend=name)`."""
    _REGISTERED[name] = factory


def backend_class(name: str) -> BackendFactory:
    """The registered backend by name (ModelError for one this program did not register)."""
    try:
        return _REGISTERED[name]
    except KeyError:
        pass
    if name in choices(BackendName):
        raise ModelError(f"the {name} backend is not available in this program")
    raise ModelError(f"unknown backend {name!r}; choose from {', '.join(choices(BackendName))}")
