"""int8: which nodes are quantised, `cxr quantize` on a model folder, the precision choice,
and the shipped int8 model's gates recomputed on real data (never read back from the card)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cxr_model.cli import main
from cxr_model.errors import ModelError
from cxr_model.inference.card import (
    CARD_NAME,
    INT8_NAME,
    ONNX_NAME,
    WEIGHTS_NAME,
    load_card,
    sha256_of,
)
from cxr_model.inference.predictor import heatmap, load_model
from cxr_model.inference.router import load_models

onnx = pytest.importorskip("onnx", reason="quantisation needs the train extra")
pytest.importorskip("onnxruntime.quantization")
pytest.importorskip("skimage.data", reason="the gates' non-X-rays need scikit-image")

from onnx import TensorProto, helper  # noqa: E402

from cxr_model.training.int8_gates import cam_pearson  # noqa: E402
from cxr_model.training.quantize import precision_plan  # noqa: E402

SHIPPED = Path(__file__).resolve().parent.parent / "resources" / "models" / "paediatric"
SAMPLES = SHIPPED.parents[1] / "samples"
GATES = {
    f"auc_delta_{split}_{head}" for split in ("val", "test") for head in ("fused", "image", "text")
} | {
    "label_agreement_test_fused",
    "label_agreement_test_image",
    "cam_pearson_test_min",
    "heatmap_pearson_test_min",
    "ood_agreement_test",
    "non_xrays_flagged",
}


# ------------------------------------------------------------------ the plan, on small graphs


def _graph(nodes: list, pool: str = "ReduceMean") -> onnx.ModelProto:
    """image (1,1,8,8) -> conv c1 -> relu r1 -> conv c2 -> add a2 (+ r1) -> relu r2; both r1
    and r2 pooled (a guard over two layers), a linear head, a CAM and a text branch."""

    def conv_weight(name):
        return helper.make_tensor(
            name,
            TensorProto.FLOAT,
            [4, 1 if name == "w1" else 4, 3, 3],
            np.ones(36 if name == "w1" else 144, np.float32).tolist(),
        )

    inits = [
        conv_weight("w1"),
        conv_weight("w2"),
        helper.make_tensor("axes", TensorProto.INT64, [2], [2, 3]),
        helper.make_tensor("wh", TensorProto.FLOAT, [1, 8], [1.0] * 8),
        helper.make_tensor("wt", TensorProto.FLOAT, [1, 3], [1.0] * 3),
        helper.make_tensor("wc", TensorProto.FLOAT, [1, 4], [1.0] * 4),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 8, 8]),
            helper.make_tensor_value_info("text", TensorProto.FLOAT, [1, 3]),
        ],
        [
            helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
            for n in ("logit", "cam", "text_logit")
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    return onnx.shape_inference.infer_shapes(model)


def _two_layer_nodes(pool: str) -> list:
    def pooled(src, out):
        if pool == "GlobalAveragePool":
            return [
                helper.make_node("GlobalAveragePool", [src], [out + "4"], name=out),
                helper.make_node("Flatten", [out + "4"], [out + "_f"], name=out + "_flat"),
            ]
        return [helper.make_node("ReduceMean", [src, "axes"], [out + "_f"], name=out, keepdims=0)]

    return [
        helper.make_node("Conv", ["image", "w1"], ["c1"], name="c1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="r1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="c2", pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "r1"], ["a2"], name="a2"),
        helper.make_node("Relu", ["a2"], ["r2"], name="r2"),
        *pooled("r1", "p1"),
        *pooled("r2", "p2"),
        helper.make_node("Concat", ["p1_f", "p2_f"], ["cat"], name="cat", axis=1),
        helper.make_node("Gemm", ["cat", "wh"], ["logit"], name="head", transB=1),
        helper.make_node("Einsum", ["wc", "r2"], ["cam"], name="cam", equation="bk,bkhw->bhw"),
        helper.make_node("Gemm", ["text", "wt"], ["text_logit"], name="text", transB=1),
    ]


@pytest.mark.parametrize("pool", ["ReduceMean", "GlobalAveragePool"])
def test_plan_quantises_the_convolutions_and_keeps_the_rest_fp32(pool):
    quantised, fp32 = precision_plan(_graph(_two_layer_nodes(pool)))
    assert quantised == ["c1", "c2"]
    # the taps (r1 pooled, a2 + r2 pooled), pooling, head, CAM and text branch stay fp32
    assert {"r1", "a2", "r2", "p1", "p2", "cat", "head", "cam", "text"} <= set(fp32)
    assert not set(quantised) & set(fp32)


def test_plan_refuses_a_graph_without_spatial_pooling():
    nodes = [n for n in _two_layer_nodes("ReduceMean") if n.name not in ("p1", "p2")]
    nodes.append(helper.make_node("ReduceMean", ["r2", "channel"], ["p1_f"], name="p1"))
    nodes.append(helper.make_node("Identity", ["p1_f"], ["p2_f"], name="p2"))
    model = _graph(nodes)
    model.graph.initializer.append(helper.make_tensor("channel", TensorProto.INT64, [1], [1]))
    with pytest.raises(ModelError, match="no spatially pooled"):
        precision_plan(model)


# ----------------------------------------------------- `cxr quantize` on the fixture model


@pytest.fixture(scope="module")
def small_pairs(shared_data, tmp_path_factory) -> Path:
    """A pairs CSV of real X-rays: 16 train, 8 val, 8 test rows, both labels in each split."""
    source = shared_data / "cxr-pairs" / "pairs.csv"
    with open(source, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    wanted = {"train": 8, "val": 4, "test": 4}  # per label
    picked = [
        row
        for split, count in wanted.items()
        for label in ("0", "1")
        for row in [r for r in rows if r["split"] == split and r["label"] == label][:count]
    ]
    path = tmp_path_factory.mktemp("pairs") / "pairs.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in picked:
            writer.writerow({**row, "image": str(source.parent / row["image"])})
    return path


@pytest.fixture(scope="module")
def quantized(fixture_model_dir, small_pairs, tmp_path_factory):
    """The untrained fixture model after `cxr quantize` (exit status, printed summary)."""
    folder = tmp_path_factory.mktemp("quantized") / "model"
    shutil.copytree(fixture_model_dir, folder)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            [
                "--model",
                str(folder),
                "quantize",
                "--data",
                str(small_pairs),
                "--images",
                "16",
                "--quiet",
            ]
        )
    return folder, code, out.getvalue()


def test_quantize_writes_a_self_contained_int8_model_into_the_card(quantized):
    folder, code, printed = quantized
    card = load_card(folder)
    section = card.data["int8"]
    path = folder / INT8_NAME
    assert card.data["files"][INT8_NAME] == sha256_of(path)
    graph = onnx.load(str(path), load_external_data=False).graph
    assert not [i for i in graph.initializer if i.data_location == TensorProto.EXTERNAL]
    assert path.stat().st_size < (folder / "weights.safetensors").stat().st_size / 3
    assert section["calibration"] | {"data": None} == {
        "data": None,
        "split": "train",
        "images": 16,
        "seed": 0,
    }
    assert section["source"][ONNX_NAME] == card.data["files"][ONNX_NAME]
    assert set(section["gates"]["checks"]) == GATES
    passed = all(c["pass"] for c in section["gates"]["checks"].values())
    assert section["gates"]["passed"] == passed
    assert code == (0 if passed else 1)
    assert f"wrote {path}" in printed and "non_xrays_flagged" in printed
    assert set(section["metrics"]) == {"val", "test"}


def test_int8_graph_has_per_channel_int8_convolutions_and_fp32_features(quantized):
    folder, _, _ = quantized
    graph = onnx.load(str(folder / INT8_NAME)).graph
    producers = {out: node for node in graph.node for out in node.output}
    inits = {i.name: i for i in graph.initializer}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    assert len(convs) == 20  # ResNet-18, BatchNorm folded
    for conv in convs:
        dq = producers[conv.input[1]]
        assert dq.op_type == "DequantizeLinear", conv.name
        weight, scale = inits[dq.input[0]], inits[dq.input[1]]
        assert weight.data_type == TensorProto.INT8
        assert list(scale.dims) == [weight.dims[0]], f"{conv.name}: not per channel"
        assert producers[conv.input[0]].op_type == "DequantizeLinear"
    fp32_nodes = set(load_card(folder).data["int8"]["made_with"]["fp32_nodes"])
    kept = [n for n in graph.node if n.op_type in ("ReduceMean", "Gemm", "MatMul", "Einsum")]
    assert {"ReduceMean", "Gemm", "Einsum"} <= {n.op_type for n in kept}  # pool, heads, CAM
    for node in kept:
        assert node.name in fp32_nodes
        assert all(
            producers.get(i) is None or producers[i].op_type != "DequantizeLinear"
            for i in node.input
        ), f"{node.name} reads a dequantised tensor"


def _with_card(folder: Path, tmp_path: Path, change) -> Path:
    copy = tmp_path / f"m{len(list(tmp_path.iterdir()))}"
    shutil.copytree(folder, copy)
    data = json.loads((copy / CARD_NAME).read_text())
    change(data)
    (copy / CARD_NAME).write_text(json.dumps(data))
    return copy


def _pass_gates(data: dict) -> None:
    data["int8"]["gates"]["passed"] = True
    for check in data["int8"]["gates"]["checks"].values():
        check["pass"] = True


def test_auto_runs_int8_only_while_the_card_vouches_for_it(quantized, tmp_path):
    folder, _, _ = quantized
    passed = _with_card(folder, tmp_path, _pass_gates)
    model = load_model(passed)
    assert (model.precision, model.precision_warning) == ("int8", None)
    assert load_model(passed, precision="fp32").precision == "fp32"

    def fail_one(data):
        _pass_gates(data)
        data["int8"]["gates"]["passed"] = False
        data["int8"]["gates"]["checks"]["ood_agreement_test"]["pass"] = False

    def other_source(data):
        _pass_gates(data)
        data["int8"]["source"][ONNX_NAME] = "0" * 64

    def new_threshold(data):
        _pass_gates(data)
        data["thresholds"]["image"] = 0.25

    for change, reason in (
        (fail_one, "ood_agreement_test"),
        (other_source, "other weights"),
        (new_threshold, "calibration or OOD guard changed"),
    ):
        copy = _with_card(folder, tmp_path, change)
        assert load_model(copy).precision == "fp32"
        forced = load_model(copy, precision="int8")  # asked for: runs, and says why not vouched
        assert forced.precision == "int8" and reason in forced.precision_warning
    tampered = _with_card(folder, tmp_path, _pass_gates)
    with open(tampered / INT8_NAME, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match="does not match the SHA-256"):
        load_model(tampered)


def test_a_folder_holding_one_precision_runs_that_one(quantized, tmp_path):
    """The app bundle ships each model at the precision `auto` runs: a folder with the card and
    the int8 model alone verifies, runs int8 and names what is missing when fp32 is asked for;
    one file of the fp32 pair missing is a damaged folder."""
    folder, _, _ = quantized
    passed = _with_card(folder, tmp_path, _pass_gates)
    int8_only = _with_card(passed, tmp_path, lambda data: None)
    for name in (ONNX_NAME, WEIGHTS_NAME):
        (int8_only / name).unlink()
    image = SAMPLES / "person1946_bacteria_4874.jpeg"
    models = load_models(int8_only)
    assert models.precision == "int8" and not models.precision_warnings
    expected = load_model(passed).predict(image).probability
    assert models.predict(image).probability == pytest.approx(expected, abs=1e-6)
    with pytest.raises(ModelError, match="fp32 files of this model are not installed here"):
        load_models(int8_only, precision="fp32")
    failed = _with_card(
        int8_only, tmp_path, lambda data: data["int8"]["gates"].update(passed=False)
    )
    model = load_model(failed)  # auto would take fp32; the folder has int8 only and says why
    assert model.precision == "int8" and "failed its accuracy gates" in model.precision_warning
    half = _with_card(passed, tmp_path, lambda data: None)
    (half / WEIGHTS_NAME).unlink()
    with pytest.raises(ModelError, match="weights.safetensors is missing"):
        load_models(half)


def test_precision_without_an_int8_model(fixture_model_dir, capsys):
    assert load_model(fixture_model_dir).precision == "fp32"
    with pytest.raises(ModelError, match="no int8 model"):
        load_model(fixture_model_dir, precision="int8")
    with pytest.raises(ModelError, match="unknown precision"):
        load_model(fixture_model_dir, precision="fp16")
    with pytest.raises(ModelError, match="fp32 only"):
        load_model(fixture_model_dir, backend="torch", precision="int8")
    assert main(["--model", str(fixture_model_dir), "--precision", "int8", "selftest"]) == 1
    assert "no int8 model" in capsys.readouterr().err
    assert main(["--model", str(fixture_model_dir), "--precision", "fp32", "selftest"]) == 0
    assert ", fp32, checksums ok" in capsys.readouterr().out


# ------------------------------------- the shipped int8 model: its gates, recomputed here


@pytest.fixture(scope="module")
def shipped_card() -> dict:
    card = load_card(SHIPPED)
    if "int8" not in card.data:
        pytest.skip("the shipped model has no int8 model (run `cxr quantize`)")
    return card.data


@pytest.fixture(scope="module")
def recomputed(shipped_card, shared_data) -> dict:
    """Both precisions' predictions on val and test, every image read once for both."""
    from cxr_model.training.dataset import read_examples
    from cxr_model.training.evaluate import predict_examples

    fp32 = load_model(SHIPPED, precision="fp32")
    int8 = load_model(SHIPPED, precision="int8")
    out = {}
    for split in ("val", "test"):
        examples = read_examples(shared_data / "cxr-pairs" / "pairs.csv", split)
        out[split] = (examples, *predict_examples([fp32, int8], examples))
    return out


def test_shipped_model_runs_int8_by_default(shipped_card):
    assert shipped_card["int8"]["gates"]["passed"] is True
    model = load_model(SHIPPED)
    assert (model.precision, model.precision_warning) == ("int8", None)


def test_shipped_int8_auc_within_0002_of_fp32_on_val_and_test(shipped_card, recomputed):
    from sklearn.metrics import roc_auc_score

    checks = shipped_card["int8"]["gates"]["checks"]
    for split, (examples, fp32, int8) in recomputed.items():
        labels = [e.label for e in examples]
        heads = {
            "fused": lambda p: p.probability,
            "image": lambda p: p.image_probability,
            "text": lambda p: p.text_probability,
        }
        for head, value in heads.items():
            used = [i for i, p in enumerate(fp32) if value(p) is not None]
            a = roc_auc_score([labels[i] for i in used], [value(fp32[i]) for i in used])
            b = roc_auc_score([labels[i] for i in used], [value(int8[i]) for i in used])
            assert abs(b - a) <= 0.002, (split, head, a, b)
            recorded = checks[f"auc_delta_{split}_{head}"]
            assert (recorded["fp32"], recorded["int8"]) == pytest.approx((a, b), abs=1e-4)
            assert recorded["pass"]


def test_shipped_int8_labels_heatmaps_and_ood_agree_with_fp32(shipped_card, recomputed):
    checks = shipped_card["int8"]["gates"]["checks"]
    _, fp32, int8 = recomputed["test"]
    pairs = list(zip(fp32, int8, strict=True))
    threshold = load_card(SHIPPED).threshold("image")
    same = {
        "label_agreement_test_fused": np.mean([a.label == b.label for a, b in pairs]),
        "label_agreement_test_image": np.mean(
            [
                (a.image_probability >= threshold) == (b.image_probability >= threshold)
                for a, b in pairs
            ]
        ),
        "ood_agreement_test": np.mean([a.ood == b.ood for a, b in pairs]),
    }
    for name, value in same.items():
        assert value >= 0.99, (name, value)
        assert checks[name]["value"] == pytest.approx(value, abs=2e-3) and checks[name]["pass"]
    size = load_card(SHIPPED).input_spec.size
    cam = min(np.corrcoef(a.cam_raw.ravel(), b.cam_raw.ravel())[0, 1] for a, b in pairs)
    # the heatmap of the target the label supports, as the viewer scales it
    shown = min(
        cam_pearson(
            heatmap(a.cam_raw, a.label, size, (size, size)),
            heatmap(b.cam_raw, a.label, size, (size, size)),
        )
        for a, b in pairs
    )
    assert cam >= 0.98 and shown >= 0.98, (cam, shown)
    assert checks["heatmap_pearson_test_min"]["value"] == pytest.approx(shown, abs=2e-3)
    assert checks["cam_pearson_test_min"]["pass"] and checks["heatmap_pearson_test_min"]["pass"]


def test_shipped_int8_metrics_in_the_card_are_reproduced(shipped_card, recomputed):
    from cxr_model.training.evaluate import head_metrics, head_scores

    int8_model = load_model(SHIPPED, precision="int8")
    for split, (examples, _, int8) in recomputed.items():
        measured = head_metrics(int8_model, head_scores(int8, examples))
        for head, figures in shipped_card["int8"]["metrics"][split].items():
            for key, value in figures.items():
                assert measured[head][key] == pytest.approx(value, abs=2e-3), (split, head, key)


def test_recorded_figures_keep_int8_while_a_changed_limit_stops_it(model_dir, tmp_path):
    from cxr_model.inference.card import record_metrics, write_card

    if load_card(model_dir).int8_unusable() is not None:
        pytest.skip("the model in use has no int8 model that passed its gates")
    folder = tmp_path / "model"
    shutil.copytree(model_dir, folder)
    card = load_card(folder)
    # `cxr evaluate --record --outside` stores what the guard flagged: a figure, not a limit
    record_metrics(card, "test", card.data["metrics"]["test"], {"ood": {"flagged": 0.02}})
    assert load_card(folder).data["ood"]["measured"]["test"] == {"flagged": 0.02}
    assert load_card(folder).int8_unusable() is None
    data = load_card(folder).data
    write_card(folder, {**data, "ood": {**data["ood"], "threshold": data["ood"]["threshold"] * 2}})
    assert "changed since the int8 gates were measured" in load_card(folder).int8_unusable()
