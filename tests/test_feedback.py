"""Verdicts: `cxr feedback add|list|export|stats`, writers from several processes, a damaged or
locked database, and the exported CSV training a model with `cxr train --init`."""

from __future__ import annotations

import csv
import json
import multiprocessing
import shutil
import sqlite3
from pathlib import Path

import pytest

from cxr_model import sqlite_db
from cxr_model.cli import main
from cxr_model.errors import StoreError
from cxr_model.feedback.export import patient_split
from cxr_model.feedback.store import ENV_DB, FeedbackStore, default_db_path, make_verdict
from cxr_model.training.dataset import read_examples


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "data" / "verdicts.sqlite"


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_add_change_list_stats_export(model, model_dir, sample_images, db, tmp_path, capsys):
    images = []
    for source in sample_images[:3]:  # copies, so one can disappear before the export
        images.append(tmp_path / "images" / source.name)
        images[-1].parent.mkdir(exist_ok=True)
        shutil.copy(source, images[-1])
    first, second, third = images
    ai = {p: model.predict(p, "clear lungs") for p in images}
    m = ["--model", str(model_dir)]
    for image, truth in ((first, "normal"), (second, "abnormal"), (third, "ungradable")):
        code, out, err = cli(
            capsys, *m, "feedback", "add", str(image), "--label", truth,
            "--report", "clear lungs", "--db", str(db),
        )  # fmt: skip
        assert code == 0, err
        assert out.startswith(f"{image}: {truth} (AI {ai[image].probability:.3f}")
    code, _, err = cli(capsys, *m, "feedback", "add", str(first), "--label", "abnormal",
                       "--db", str(db))  # fmt: skip
    assert code == 0, err
    assert db.stat().st_mode & 0o777 == 0o600 and db.parent.stat().st_mode & 0o777 == 0o700

    code, out, _ = cli(capsys, "feedback", "list", "--json", "--db", str(db))
    current = {Path(v["image"]).name: v for v in json.loads(out)}
    assert {k: v["truth"] for k, v in current.items()} == {
        first.name: "abnormal",
        second.name: "abnormal",
        third.name: "ungradable",
    }
    changed = current[first.name]
    assert changed["report"] == "" and changed["who"] and changed["model_version"]
    code, out, _ = cli(capsys, "feedback", "list", "--history", "--json", "--db", str(db))
    history = [v for v in json.loads(out) if v["image"] == str(first.resolve())]
    assert [v["truth"] for v in history] == ["normal", "abnormal"]
    assert history[0]["report"] == "clear lungs"

    code, out, _ = cli(capsys, "feedback", "stats", "--json", "--db", str(db))
    (stats,) = json.loads(out)
    # the verdicts' AI fields are those of a model run on the same image without the report
    # for the changed one (its second `add` had no report)
    labels = {
        first: model.predict(first).label,
        second: ai[second].label,
    }
    tp = sum(label == "abnormal" for label in labels.values())
    assert stats["verdicts"] == 3 and stats["ungradable"] == 1 and stats["compared"] == 2
    assert stats["true_positive"] == tp and stats["false_negative"] == 2 - tp
    assert stats["sensitivity"] == pytest.approx(tp / 2) and stats["specificity"] is None
    code, out, _ = cli(capsys, "feedback", "stats", "--db", str(db))
    assert f"sensitivity {tp / 2:.1%} ({tp}/2)" in out and "specificity n/a" in out

    second.unlink()
    site = tmp_path / "site.csv"
    code, out, err = cli(capsys, "feedback", "export", "--out", str(site), "--db", str(db))
    assert code == 0, err
    assert "1 not-gradable verdict(s) left out" in out
    assert f"1 image(s) no longer exist, left out:\n  {second.resolve()}" in out
    (example,) = read_examples(site)
    assert example.image == first.resolve() and example.label == 1
    assert example.split == patient_split(changed["patient_key"])

    with pytest.raises(SystemExit) as exited:
        main(["feedback", "list", "--since", "yesterday", "--db", str(db)])
    assert exited.value.code == 2 and "--since" in capsys.readouterr().err
    code, _, err = cli(capsys, *m, "feedback", "add", str(tmp_path / "gone.png"), "--label",
                       "normal", "--db", str(db))  # fmt: skip
    assert code == 2 and "gone.png" in err


def test_default_database_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_DB, str(tmp_path / "site.sqlite"))
    assert default_db_path() == tmp_path / "site.sqlite"
    monkeypatch.delenv(ENV_DB)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db_path() == tmp_path / "xdg" / "cxr-desktop" / "verdicts.sqlite"


def _write_verdicts(db: Path, worker: int, count: int) -> None:
    store = FeedbackStore(db)
    for number in range(count):
        image = Path(f"/nonexistent/w{worker}-{number}.png")
        store.add(make_verdict(image, "normal", {"PatientID": f"P{worker}"}, None, None))
    store.close()


def test_writers_in_several_processes_lose_no_verdict(db):
    FeedbackStore(db).close()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_verdicts, args=(db, w, 40)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
        assert process.exitcode == 0
    store = FeedbackStore(db)
    subjects = [v.subject for v in store.history()]
    store.close()
    assert len(subjects) == 160 and len(set(subjects)) == 160


def test_damaged_and_locked_databases_are_clear_errors(db, capsys, monkeypatch):
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not an sqlite database" * 100)
    code, _, err = cli(capsys, "feedback", "list", "--db", str(db))
    assert code == 2 and "damaged" in err and str(db) in err

    other = db.with_name("locked.sqlite")
    FeedbackStore(other).close()
    holder = sqlite3.connect(other, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another program writing and not letting go
    monkeypatch.setattr(sqlite_db, "BUSY_SECONDS", 0.3)
    store = FeedbackStore(other)
    with pytest.raises(StoreError, match="locked by another program"):
        store.add(make_verdict(Path("x.png"), "normal", {}, None, None))
    holder.execute("ROLLBACK")
    store.add(make_verdict(Path("x.png"), "normal", {}, None, None))  # recovers once free
    assert len(store.current()) == 1
    store.close()
    holder.close()


def test_exported_verdicts_train_a_model_with_init(
    shared_data, fixture_model_dir, model, tmp_path, capsys
):
    pytest.importorskip("torch", reason="training needs the train extra")
    adult = shared_data / "adult-nih-64"
    with open(adult / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    chosen = [r for r in rows if r["label"] == "normal"][:20]
    chosen += [r for r in rows if r["label"] == "abnormal"][:20]
    store = FeedbackStore(tmp_path / "verdicts.sqlite")
    for row in chosen:
        image = adult / "images" / row["filename"]
        prediction = model.predict(image)
        meta = {"PatientID": row["patient_id"]}
        store.add(make_verdict(image, row["label"], meta, model.card, prediction))
    store.close()
    site = tmp_path / "site.csv"
    db = str(tmp_path / "verdicts.sqlite")
    code, out, err = cli(capsys, "feedback", "export", "--out", str(site), "--db", db)
    assert code == 0, err
    assert out.startswith(f"40 verdict(s) written to {site}")
    patients = {}
    for example, row in zip(read_examples(site), chosen, strict=True):
        patients.setdefault(row["patient_id"], set()).add(example.split)
    assert all(len(splits) == 1 for splits in patients.values())  # patient-disjoint
    out_dir = tmp_path / "adapted"
    args = ["train", "--init", str(fixture_model_dir), "--data", str(site), "--out", str(out_dir)]
    args += ["--epochs", "1", "--limit", "16", "--batch-size", "8", "--quiet"]
    code, out, err = cli(capsys, *args)
    assert code == 0, err
    from cxr_model.inference.card import load_card
    from cxr_model.inference.predictor import load_model

    adapted = load_model(out_dir / "model")
    assert adapted.card.data["parent"]["name"] == load_card(fixture_model_dir).name
    assert adapted.card.data["training"]["counts"]["train"]["n"] == 16
    assert 0.0 <= adapted.predict(adult / "images" / chosen[0]["filename"]).probability <= 1.0
