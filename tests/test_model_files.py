"""Model folder integrity: checksums, missing files, no model installed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cxr_model.errors import ModelError
from cxr_model.inference.card import ONNX_NAME, WEIGHTS_NAME, load_card
from cxr_model.inference.predictor import load_model


def copy_model(src, dst):
    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize(
    "name,backend", [(ONNX_NAME, "onnx"), (WEIGHTS_NAME, "onnx"), (WEIGHTS_NAME, "torch")]
)
def test_tampered_weights_are_refused(fixture_model_dir, tmp_path, name, backend):
    folder = copy_model(fixture_model_dir, tmp_path / "m")
    data = bytearray((folder / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / name).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match the SHA-256"):
        load_model(folder, backend=backend)


def test_missing_weight_file(fixture_model_dir, tmp_path):
    folder = copy_model(fixture_model_dir, tmp_path / "m")
    (folder / ONNX_NAME).unlink()
    with pytest.raises(ModelError, match="missing"):
        load_model(folder)


def test_no_model_installed(tmp_path):
    with pytest.raises(ModelError, match="no model is installed"):
        load_model(tmp_path)


def test_corrupt_card(fixture_model_dir, tmp_path):
    folder = copy_model(fixture_model_dir, tmp_path / "m")
    (folder / "model_card.json").write_text("{not json")
    with pytest.raises(ModelError, match="unreadable"):
        load_card(folder)


def test_card_without_checksum_for_file(fixture_model_dir, tmp_path):
    folder = copy_model(fixture_model_dir, tmp_path / "m")
    card = json.loads((folder / "model_card.json").read_text())
    del card["files"][ONNX_NAME]
    (folder / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="no checksum"):
        load_model(folder)


def test_unknown_backend(fixture_model_dir):
    with pytest.raises(ModelError, match="unknown backend"):
        load_model(fixture_model_dir, backend="tensorflow")


def test_card_records_sha256_of_each_file(fixture_model_dir):
    card = load_card(fixture_model_dir)
    assert set(card.data["files"]) == {ONNX_NAME, WEIGHTS_NAME}
    assert all(len(v) == 64 for v in card.data["files"].values())


def test_no_pickle_files_in_model(model_dir):
    names = {p.name for p in model_dir.iterdir()}
    assert not any(n.endswith((".pt", ".pth", ".pkl", ".ckpt", ".bin")) for n in names)


def test_onnx_graph_reads_its_weights_from_the_safetensors_file(model_dir):
    """One copy of the weights: every large ONNX initializer points into weights.safetensors."""
    onnx = pytest.importorskip("onnx")
    graph = onnx.load(str(model_dir / ONNX_NAME), load_external_data=False).graph
    external = [i for i in graph.initializer if i.data_location == onnx.TensorProto.EXTERNAL]
    locations = {e.value for i in external for e in i.external_data if e.key == "location"}
    assert locations == {WEIGHTS_NAME}
    inline = sum(len(i.raw_data) for i in graph.initializer)
    assert len(external) > 100 and inline < 64 * 1024
    assert (model_dir / ONNX_NAME).stat().st_size < 1024 * 1024


def test_model_files_name_no_path_of_the_machine_that_made_them(model_dir, fixture_model_dir):
    """The exporter's stack traces would carry the exporting machine's absolute paths."""
    root = str(Path(__file__).resolve().parents[1]).encode()
    for folder in {model_dir, fixture_model_dir}:
        for path in folder.iterdir():
            if path.suffix in (".onnx", ".json"):
                assert root not in path.read_bytes(), path
                assert b"pkg.torch.onnx.stack_trace" not in path.read_bytes(), path
