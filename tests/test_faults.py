"""Bad input and faults through the CLI: the corpus, killed scans, loops, no network."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys

import pytest
from corpus import build_corpus
from helpers_scan import kill_after_lines

from cxr_model.cli import main
from cxr_model.inference.scan import RESULT_FIELDS


@pytest.fixture
def use_model(model_dir, monkeypatch):
    monkeypatch.setenv("CXR_MODEL_DIR", str(model_dir))
    return model_dir


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, fullres_images):
    folder = tmp_path_factory.mktemp("corpus")
    return folder, build_corpus(folder, fullres_images[0])


def test_every_corpus_file_gets_a_clear_answer(use_model, corpus, capsys):
    folder, expected = corpus
    for name, reason in expected.items():
        code = main(["predict", str(folder / name), "--json"])
        captured = capsys.readouterr()
        row = json.loads(captured.out)
        if reason is None:
            assert code == 0, (name, captured.err)
            assert row["error"] is None and 0.0 <= row["probability"] <= 1.0
        else:
            assert code == 2, name
            assert name in captured.err and reason in captured.err.lower(), captured.err
            assert reason in row["error"].lower()


def test_scan_of_the_corpus_goes_on_past_every_bad_file(use_model, corpus, tmp_path, capsys):
    folder, expected = corpus
    out = tmp_path / "corpus.csv"
    assert main(["scan", str(folder), "--out", str(out)]) == 0
    with open(out, newline="", encoding="utf-8") as fh:
        rows = {r["file"]: r for r in csv.DictReader(fh)}
    assert set(rows) == set(expected)
    for name, reason in expected.items():
        if reason is None:
            assert rows[name]["error"] == "" and rows[name]["probability"], name
        else:
            assert reason in rows[name]["error"].lower() and rows[name]["probability"] == ""


def test_killed_scan_keeps_every_finished_row(model_dir, shared_data, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    images = sorted((shared_data / "cxr-pairs" / "images").glob("*.jpeg"))[:240]
    for image in images:
        (folder / image.name).symlink_to(image)
    out = tmp_path / "scan.csv"
    env = {**os.environ, "CXR_MODEL_DIR": str(model_dir)}
    rows = kill_after_lines(
        [sys.executable, "-m", "cxr_model.cli", "scan", str(folder), "--out", str(out)],
        env,
        out,
        20,
        timeout=240,
    )
    assert 20 <= len(rows) < len(images), "the scan was not killed mid-way"
    assert all(r["label"] in ("normal", "abnormal") and r["error"] == "" for r in rows)
    # a rescan into the same CSV finishes the rest without scoring anything twice
    subprocess.run(
        [sys.executable, "-m", "cxr_model.cli", "scan", str(folder), "--out", str(out)],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    with open(out, newline="", encoding="utf-8") as fh:
        files = [r["file"] for r in csv.DictReader(fh)]
    assert sorted(files) == sorted(p.name for p in images)


def test_symlink_loop_does_not_hang(use_model, fullres_images, tmp_path, capsys):
    folder = tmp_path / "loop"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "back").symlink_to(folder, target_is_directory=True)
    (folder / "a" / "x.jpeg").symlink_to(fullres_images[0])
    assert main(["scan", str(folder), "--recursive"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == ",".join(RESULT_FIELDS)
    assert len(lines) == 2 and "a/x.jpeg" in lines[1]


def test_read_only_output_folder(use_model, fullres_images, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "x.jpeg").symlink_to(fullres_images[0])
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code = main(["scan", str(folder), "--out", str(locked / "out.csv")])
        if os.geteuid() == 0:  # root may write anywhere: fall back on a path under a file
            (tmp_path / "file").write_text("x")
            code = main(["scan", str(folder), "--out", str(tmp_path / "file" / "out.csv")])
    finally:
        locked.chmod(0o700)
    assert code == 2
    assert "cannot write the CSV" in capsys.readouterr().err


def test_reports_in_other_encodings_and_huge(use_model, fullres_images, tmp_path, capsys):
    image = fullres_images[0]
    text = "Opacité in the right lower lobe, pneumonia."
    for encoding in ("utf-16", "latin-1", "utf-8-sig"):
        report = tmp_path / f"report-{encoding}.txt"
        report.write_bytes(text.encode(encoding))
        assert main(["predict", str(image), "--report", str(report), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["used_report"] is True
    huge = tmp_path / "huge.txt"
    huge.write_text("no acute disease " * 400_000)
    assert main(["predict", str(image), "--report", str(huge)]) == 2
    assert "huge.txt" in capsys.readouterr().err


def test_runs_fully_offline(use_model, fullres_images, tmp_path, monkeypatch, capsys):
    """With every socket refused, predict and scan still work: nothing reaches the network."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled by test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    assert main(["predict", str(fullres_images[0]), "--heatmap", str(tmp_path / "h.png")]) == 0
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "x.jpeg").symlink_to(fullres_images[1])
    assert main(["scan", str(folder), "--out", str(tmp_path / "o.csv")]) == 0
    assert attempts == []
    capsys.readouterr()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder: chmod cannot lock it")
def test_unreadable_subfolder_gets_an_error_row(use_model, fullres_images, tmp_path, capsys):
    folder = tmp_path / "top"
    locked = folder / "locked"
    locked.mkdir(parents=True)
    (folder / "x.jpeg").symlink_to(fullres_images[0])
    locked.chmod(0)
    try:
        assert main(["scan", str(folder), "--recursive"]) == 0
    finally:
        locked.chmod(0o700)
    out = capsys.readouterr().out
    assert "locked: cannot read the folder" in out and "x.jpeg" in out


def test_unreadable_subfolder_row_simulated(model, fullres_images, tmp_path, monkeypatch):
    """As root chmod cannot lock a folder, so make os.walk report the error it would."""
    from cxr_model.inference import scan as scan_module

    folder = tmp_path / "top"
    (folder / "locked").mkdir(parents=True)
    (folder / "x.jpeg").symlink_to(fullres_images[0])
    real_walk = os.walk

    def walk(top, **kwargs):
        for root, dirs, files in real_walk(top, **kwargs):
            if root.endswith("locked"):
                kwargs["onerror"](PermissionError(13, "Permission denied", root))
                dirs[:] = []
                continue
            yield root, dirs, files

    monkeypatch.setattr(scan_module.os, "walk", walk)
    rows = list(scan_module.scan(model, scan_module.plan_scan(folder, recursive=True)))
    assert [r["file"] for r in rows] == ["locked", "x.jpeg"]
    assert rows[0]["error"] == "locked: cannot read the folder (Permission denied)"
    assert rows[1]["error"] is None and rows[1]["label"] in ("normal", "abnormal")
