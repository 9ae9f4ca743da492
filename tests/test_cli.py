"""The `cxr` command line contract, run as a real subprocess and in-process."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers_dicom import make_dicom
from PIL import Image

from cxr_model.cli import main
from cxr_model.cli.predict import PREDICT_FIELDS
from cxr_model.inference.scan import RESULT_FIELDS


def run_cli(*args: str, model_dir: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if model_dir is not None:
        env["CXR_MODEL_DIR"] = str(model_dir)
    return subprocess.run(
        [sys.executable, "-m", "cxr_model.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_predict_json_on_fullres_and_dicom(model, model_dir, fullres_images, tmp_path):
    jpeg = fullres_images[0]
    dicom = make_dicom(jpeg, tmp_path / "study.dcm")
    for image in (jpeg, dicom):
        result = run_cli("predict", str(image), "--json", model_dir=model_dir)
        assert result.returncode == 0, result.stderr
        row = json.loads(result.stdout)
        assert tuple(row) == PREDICT_FIELDS
        expected = model.predict(image)
        assert row["model"] == expected.model == model.card.label  # which model answered
        assert row["route"] == "only"  # --model (here $CXR_MODEL_DIR) forces one folder
        assert row["probability"] == pytest.approx(expected.probability, abs=1e-6)
        assert row["text_probability"] is None and row["used_report"] is False
        assert row["label"] in ("normal", "abnormal") and row["error"] is None
    # the DICOM holds the same pixels, so the model must see nearly the same image
    jpeg_p = model.predict(jpeg).image_probability
    dicom_p = model.predict(dicom).image_probability
    assert dicom_p == pytest.approx(jpeg_p, abs=0.05)


def test_predict_with_report_text_and_file(model, model_dir, sample_images, tmp_path, capsys):
    image = sample_images[0]
    report = tmp_path / "r.txt"
    report.write_text("Right lower lobe consolidation consistent with pneumonia.")
    os.environ["CXR_MODEL_DIR"] = str(model_dir)
    try:
        assert main(["predict", str(image), "--report", str(report), "--json"]) == 0
        from_file = json.loads(capsys.readouterr().out)
        assert main(["predict", str(image), "--report", report.read_text(), "--json"]) == 0
        from_text = json.loads(capsys.readouterr().out)
    finally:
        del os.environ["CXR_MODEL_DIR"]
    assert from_file == {**from_text, "file": from_file["file"]}
    assert from_file["used_report"] is True
    assert from_file["text_probability"] is not None


def test_predict_heatmap_png(model_dir, fullres_images, tmp_path):
    out = tmp_path / "heat.png"
    result = run_cli("predict", str(fullres_images[1]), "--heatmap", str(out), model_dir=model_dir)
    assert result.returncode == 0, result.stderr
    assert "not a medical device" in result.stdout.lower()
    with Image.open(out) as im, Image.open(fullres_images[1]) as src:
        assert im.size == src.size and im.mode == "RGB"


@pytest.mark.parametrize(
    "content,reason",
    [
        (b"", "empty"),
        (b"<html><body>not an image</body></html>", "not an image"),
    ],
)
def test_predict_bad_input_exits_2(model_dir, tmp_path, content, reason):
    bad = tmp_path / "bad file.png"
    bad.write_bytes(content)
    result = run_cli("predict", str(bad), "--json", model_dir=model_dir)
    assert result.returncode == 2
    assert "bad file.png" in result.stderr and reason in result.stderr.lower()
    assert json.loads(result.stdout)["error"]


def test_predict_missing_file_and_unwritable_heatmap(model_dir, sample_images, tmp_path):
    result = run_cli("predict", str(tmp_path / "nope.png"), model_dir=model_dir)
    assert result.returncode == 2 and "nope.png" in result.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli(
        "predict", str(sample_images[0]), "--heatmap", str(blocker / "h.png"), model_dir=model_dir
    )
    assert result.returncode == 2 and "cannot write the heatmap" in result.stderr


def test_no_model_installed_exits_3(tmp_path, sample_images):
    result = run_cli("predict", str(sample_images[0]), model_dir=tmp_path)
    assert result.returncode == 3
    assert "no model is installed" in result.stderr


def scan_folder(tmp_path: Path, fullres_images: list[Path]) -> Path:
    folder = tmp_path / "studies"
    (folder / "sub").mkdir(parents=True)
    for image in fullres_images[:3]:
        shutil.copy(image, folder / image.name)
    shutil.copy(fullres_images[-1], folder / "sub" / "deep ü.jpeg")
    (folder / fullres_images[0].with_suffix(".txt").name).write_text(
        "FINDINGS: The lungs are clear.\nIMPRESSION: No acute disease."
    )
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    (folder / "notes.docx").write_bytes(b"ignored: not an image type")
    return folder


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_scan_csv_rows_report_errors_and_rescan(model, model_dir, fullres_images, tmp_path):
    folder = scan_folder(tmp_path, fullres_images)
    out = tmp_path / "scan.csv"
    result = run_cli("scan", str(folder), "--out", str(out), "--recursive", model_dir=model_dir)
    assert result.returncode == 0, result.stderr
    rows = read_rows(out)
    assert tuple(rows[0]) == RESULT_FIELDS and RESULT_FIELDS[-1] == "model"
    by_file = {r["file"]: r for r in rows}
    assert by_file["corrupt.png"]["model"] == ""  # no model answered a file that failed
    assert set(by_file) == {p.name for p in fullres_images[:3]} | {"corrupt.png", "sub/deep ü.jpeg"}
    assert "corrupt.png" in by_file["corrupt.png"]["error"]
    with_report = by_file[fullres_images[0].name]
    assert with_report["used_report"] == "true"
    expected = model.predict(
        folder / fullres_images[0].name,
        (folder / fullres_images[0].with_suffix(".txt").name).read_text(),
    )
    assert float(with_report["probability"]) == pytest.approx(expected.probability, abs=1e-5)
    assert with_report["model"] == expected.model == model.card.label
    assert by_file[fullres_images[1].name]["used_report"] == "false"
    # rescan into the same CSV: scored files are skipped, the failed one is tried again
    result = run_cli("scan", str(folder), "--out", str(out), "--recursive", model_dir=model_dir)
    assert result.returncode == 0
    again = read_rows(out)
    assert len(again) == len(rows) + 1 and again[-1]["file"] == "corrupt.png"
    assert "4 already in" in result.stderr


def test_scan_not_recursive_and_bad_folders(model_dir, fullres_images, tmp_path):
    folder = scan_folder(tmp_path, fullres_images)
    result = run_cli("scan", str(folder), model_dir=model_dir)
    assert result.returncode == 0
    lines = result.stdout.strip().splitlines()
    assert lines[0] == ",".join(RESULT_FIELDS)
    assert not any("sub/" in line for line in lines)
    assert run_cli("scan", str(tmp_path / "missing"), model_dir=model_dir).returncode == 2
    blocker = tmp_path / "plain"
    blocker.write_text("x")
    result = run_cli("scan", str(folder), "--out", str(blocker / "out.csv"), model_dir=model_dir)
    assert result.returncode == 2 and "cannot write the CSV" in result.stderr


def test_selftest_passes_and_fails_on_tampering(model_dir, fixture_model_dir, tmp_path):
    result = run_cli("selftest", model_dir=model_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("selftest ok:") and result.stdout.count("\n") == 1
    tampered = tmp_path / "m"
    shutil.copytree(fixture_model_dir, tampered)
    with open(tampered / "model.onnx", "ab") as fh:
        fh.write(b"\0")
    result = run_cli("selftest", model_dir=tampered)
    assert result.returncode == 1 and "SHA-256" in result.stderr


def test_missing_report_file_is_an_error_not_text(model_dir, sample_images, tmp_path):
    result = run_cli(
        "predict",
        str(sample_images[0]),
        "--report",
        str(tmp_path / "gone.txt"),
        model_dir=model_dir,
    )
    assert result.returncode == 2 and "gone.txt" in result.stderr
    assert "no such file" in result.stderr
