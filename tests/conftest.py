"""Shared fixtures: Qt offscreen, the shared data folder, and a model to test against."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cxr_model.assembly import use_backend
from cxr_model.vocabulary import BackendName

# The tests load the PyTorch network beside the ONNX graph (`backend="torch"`), as `cxr
# --backend torch` does: the program registers it, inference does not import training.
use_backend(BackendName.TORCH)

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
SHIPPED_MODEL = ROOT / "resources" / "models" / "paediatric"
SAMPLES = ROOT / "resources" / "samples"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip: the real data sets live beside the project, not in it."""
    if not (SHARED_DATA / "cxr-pairs" / "pairs.csv").is_file():
        pytest.skip(f"real data not found at {SHARED_DATA} (clone beside ../shared/data)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def fullres_images(shared_data: Path) -> list[Path]:
    """The 16 full-resolution X-rays."""
    return sorted((shared_data / "fullres").glob("*.jpeg"))


@pytest.fixture(scope="session")
def sample_images() -> list[Path]:
    """X-rays shipped in resources/samples (always present)."""
    images = sorted(p for p in SAMPLES.iterdir() if p.suffix.lower() in (".jpeg", ".jpg", ".png"))
    assert images, "resources/samples holds no images"
    return images


def build_fixture_model(out: Path, text_mode: str = "bag") -> Path:
    """An untrained (seeded) model folder, marked demo, for tests that need model files."""
    import torch

    from cxr_model.imaging.preprocess import InputSpec
    from cxr_model.text.inputs import vocab_size
    from cxr_model.text.tokenizer import Tokenizer
    from cxr_model.training.export import save_model
    from cxr_model.training.network import FusionNet

    torch.manual_seed(0)
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts(
        [
            "the lungs are clear no effusion",
            "right lower lobe opacity",
            "pneumonia consolidation left base",
            "heart size normal",
        ]
    )
    net = FusionNet(text_mode, vocab_size(tokenizer), 100)
    with torch.no_grad():  # give BatchNorm non-trivial statistics, like a trained network
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
    save_model(
        net.eval(),
        tokenizer,
        InputSpec(),
        out,
        vocab_size=vocab_size(tokenizer),
        max_len=100,
        thresholds={"fused": 0.5, "image": 0.5, "text": 0.5},
        extra={"demo": True},
    )
    return out


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """The shipped model when present, else an untrained fixture model."""
    if (SHIPPED_MODEL / "model_card.json").is_file():
        return SHIPPED_MODEL
    return build_fixture_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="session")
def fixture_model_dir(tmp_path_factory) -> Path:
    """Always the untrained fixture model (for tests that tamper with files)."""
    return build_fixture_model(tmp_path_factory.mktemp("fixture_model"))


@pytest.fixture(scope="session")
def model(model_dir):
    """The model on ONNX Runtime."""
    from cxr_model.inference.predictor import load_model

    return load_model(model_dir)


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory):
    """A real Orthanc (DIMSE + DICOMweb) on 127.0.0.1 ports chosen free, one per session,
    stopped by its PID at the end (tests/helpers_orthanc.py)."""
    from helpers_orthanc import DICOMWEB_PLUGIN, ORTHANC, start_orthanc

    if ORTHANC is None or not DICOMWEB_PLUGIN.is_file():
        pytest.skip(
            "Orthanc or its DICOMweb plugin is not installed "
            "(apt-get install orthanc orthanc-dicomweb; .ci/run does it)"
        )
    server = start_orthanc(tmp_path_factory.mktemp("orthanc"))
    yield server
    server.stop()
