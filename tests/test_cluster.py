"""`cxr scan --engine ray` on a real local Ray (2 CPUs, one cluster shared by these tests):
the same rows as the local engine on real X-rays, broken files, reports and DICOM; CSV and
parquet output; resume after a killed scan."""

from __future__ import annotations

import csv
import itertools
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the cluster extra (ray[data]) is not installed")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from corpus import build_corpus  # noqa: E402
from helpers_dicom import make_dicom  # noqa: E402
from helpers_models import two_models  # noqa: E402
from helpers_scan import kill_after_lines  # noqa: E402

from cxr_model.cli import main  # noqa: E402
from cxr_model.cluster.engine import connect, pool_size, ray_scan  # noqa: E402
from cxr_model.cluster.parquet import ParquetSink, scored_parquet  # noqa: E402
from cxr_model.cluster.schema import RESULT_SCHEMA  # noqa: E402
from cxr_model.errors import CXRError, DataError  # noqa: E402
from cxr_model.inference.router import load_models  # noqa: E402
from cxr_model.inference.scan import RESULT_FIELDS, plan_scan, scan  # noqa: E402

TOLERANCE = 1e-5  # probabilities: the actors run other batches on one thread


@pytest.fixture(scope="session")
def ray_address():
    """One local Ray of 2 CPUs for every test here, started the way `cxr scan --engine ray`
    starts its own; shut down when the session ends."""
    assert connect(num_cpus=2), "Ray was already running in the test process"
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="session")
def studies(tmp_path_factory, sample_images) -> Path:
    """Real X-rays (JPEG and DICOM) with their reports, a study whose report is binary, the
    corpus of broken and tricky files in a subfolder, and a link to nowhere."""
    root = tmp_path_factory.mktemp("cluster") / "studies"
    shutil.copytree(sample_images[0].parent, root)
    jpeg = next(p for p in sample_images if p.suffix == ".jpeg")
    shutil.copy(jpeg, root / "bad report.jpeg")
    (root / "bad report.txt").write_bytes(b"FINDINGS\x00\x01\x02 binary")
    build_corpus(root / "corpus", jpeg)
    (root / "gone.png").symlink_to(root / "no such file.png")
    return root


def assert_same_rows(expected: list[dict], actual: list[dict]) -> None:
    """Same files, each once, with equal fields (probabilities within TOLERANCE)."""

    def by_file(rows: list[dict]) -> dict[str, dict]:
        assert not [f for f, n in Counter(r["file"] for r in rows).items() if n > 1]
        return {r["file"]: r for r in rows}

    expected_rows, actual_rows = by_file(expected), by_file(actual)
    assert sorted(actual_rows) == sorted(expected_rows)
    for name, want in expected_rows.items():
        got = actual_rows[name]
        assert tuple(got) == RESULT_FIELDS, name
        for field in RESULT_FIELDS:
            if isinstance(want[field], float):
                assert got[field] == pytest.approx(want[field], abs=TOLERANCE), (name, field)
            else:
                assert got[field] == want[field], (name, field)


def read_csv(path: Path) -> list[dict]:
    """CSV rows with the probabilities as floats (empty cells stay empty strings)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    floats = ("probability", "image_probability", "text_probability", "threshold")
    return [{k: float(v) if k in floats and v else v for k, v in row.items()} for row in rows]


def test_ray_actors_choose_the_model_per_image_as_the_local_scan(
    model_dir, sample_images, ray_address, tmp_path
):
    models = load_models(two_models(model_dir, tmp_path / "models"))
    folder = tmp_path / "aged"
    folder.mkdir()
    # by age only: the two test models share their weights, so for an image without a
    # usable age their detectors tie, and batch-level float noise would break the tie
    for age in ("045Y", "003Y", "067Y"):
        make_dicom(sample_images[0], folder / f"{age}.dcm", PatientAge=age)
    plan = plan_scan(folder)
    remote = list(ray_scan(models, plan, batch_size=2))
    assert_same_rows(list(scan(models, plan)), remote)
    rows = {r["file"]: r for r in remote}
    assert rows["045Y.dcm"]["model"].startswith("adult ")
    assert rows["003Y.dcm"]["model"].startswith("paediatric ")
    assert rows["067Y.dcm"]["model"] == rows["045Y.dcm"]["model"]


def test_ray_rows_equal_local_rows(model, studies, ray_address):
    plan = plan_scan(studies, recursive=True)
    local = list(scan(model, plan))
    remote = list(ray_scan(model, plan, batch_size=4))  # several batches, errors among them
    assert_same_rows(local, remote)
    rows = {r["file"]: r for r in remote}
    # the folder holds what the test claims: reports, DICOM, broken files, a dead link
    assert sum(r["used_report"] is True for r in remote) == 2
    assert "binary data" in rows["bad report.jpeg"]["error"]
    assert rows["NORMAL2-IM-1438-0001.dcm"]["error"] is None
    assert rows["corpus/mono1.dcm"]["error"] is None
    assert "empty" in rows["corpus/empty.png"]["error"]
    assert "no such file" in rows["gone.png"]["error"]
    assert sum(r["error"] is None for r in remote) >= 18


def test_cli_ray_csv_and_local_parquet_match_local_csv(
    model_dir, studies, ray_address, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("CXR_MODEL_DIR", str(model_dir))
    monkeypatch.chdir(studies.parent)  # a relative folder: names and messages as written
    assert main(["scan", "studies", "--recursive", "--out", str(tmp_path / "local.csv")]) == 0
    assert main(["scan", "studies", "--recursive", "--out", str(tmp_path / "local.parquet")]) == 0
    capsys.readouterr()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # the progress bar shows
    assert (
        main(
            [
                "scan",
                "studies",
                "--recursive",
                "--engine",
                "ray",
                "--out",
                str(tmp_path / "ray.csv"),
            ]
        )
        == 0
    )
    local, remote = read_csv(tmp_path / "local.csv"), read_csv(tmp_path / "ray.csv")
    assert_same_rows(local, remote)
    as_csv = {True: "true", False: "false", None: ""}  # the CSV's spelling of parquet values
    local_parquet = [
        {k: as_csv.get(v, v) if not isinstance(v, float) else v for k, v in row.items()}
        for row in pq.read_table(tmp_path / "local.parquet").to_pylist()
    ]
    assert_same_rows(local, local_parquet)
    err = capsys.readouterr().err
    assert f"{len(local)}/{len(local)}" in err and "img/s" in err
    assert "cxr: studies/corpus/empty.png: file is empty" in err
    assert (
        "studies/bad report.txt: not a text file"
        in {r["file"]: r for r in remote}["bad report.jpeg"]["error"]
    )


def test_parquet_resumes_an_interrupted_scan(
    model, model_dir, studies, ray_address, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "scan.parquet"
    plan = plan_scan(studies, recursive=True)
    # a scan that dies after 12 rows: two parts of 5 reached the disk, 2 rows did not
    sink = ParquetSink(out, flush_rows=5, flush_seconds=3600)
    rows = ray_scan(model, plan)
    for row in itertools.islice(rows, 12):
        sink.add(row)
    rows.close()
    first = pq.read_table(out).to_pylist()
    assert len(first) == 10 and len(list(out.glob("part-*.parquet"))) == 2
    # the rerun skips what is scored and writes the rest
    monkeypatch.setenv("CXR_MODEL_DIR", str(model_dir))
    assert (
        main(["scan", str(studies), "--recursive", "--engine", "ray", "--quiet", "--out", str(out)])
        == 0
    )
    skipped = sum(r["error"] is None for r in first)
    assert f", {skipped} already in {out}" in capsys.readouterr().err
    table = pq.read_table(out)
    assert table.schema.equals(RESULT_SCHEMA)
    final = table.to_pylist()
    scored = [r["file"] for r in final if r["error"] is None]
    assert len(scored) == len(set(scored)), "a file was scored twice"
    # error rows of the first run stay, like in the CSV; the latest row of each file counts
    latest = {r["file"]: r for r in first + [r for r in final if r not in first]}
    assert_same_rows(list(scan(model, plan)), list(latest.values()))
    assert not list(out.glob(".*")), "an unfinished part was left behind"


def test_killed_ray_scan_resumes_without_duplicates(
    model_dir, sample_images, ray_address, tmp_path
):
    folder = tmp_path / "many"
    folder.mkdir()
    jpegs = [p for p in sample_images if p.suffix == ".jpeg"]
    for i in range(48):  # real X-rays under 48 names
        (folder / f"{i:02d}-{jpegs[i % len(jpegs)].name}").symlink_to(jpegs[i % len(jpegs)])
    out = tmp_path / "scan.csv"
    command = [
        sys.executable,
        "-m",
        "cxr_model.cli",
        "scan",
        str(folder),
        "--engine",
        "ray",
        "--address",
        ray_address,
        "--batch-size",
        "4",
        "--out",
        str(out),
    ]
    env = {**os.environ, "CXR_MODEL_DIR": str(model_dir)}
    killed = kill_after_lines(command, env, out, 4)
    assert 4 <= len(killed) < 48, "the scan was not killed mid-way"
    assert all(r["error"] == "" and r["label"] for r in killed)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f", {len(killed)} already in" in done.stderr
    files = [r["file"] for r in read_csv(out)]
    assert sorted(files) == sorted(p.name for p in folder.iterdir())


def test_pool_size_keeps_a_cpu_for_reading():
    assert pool_size(2, 1) == 1  # two one-CPU actors on two CPUs would stall the reads
    assert pool_size(16, 2) == 7 and pool_size(16, 1, actors=4) == 4
    with pytest.raises(CXRError, match="stall"):
        pool_size(2, 1, actors=2)
    with pytest.raises(CXRError, match="needs at least 2"):
        pool_size(1, 1)


def test_bad_options_and_unreachable_cluster(model_dir, studies, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CXR_MODEL_DIR", str(model_dir))
    assert main(["scan", str(studies), "--actors", "2"]) == 2
    assert "--actors needs --engine ray" in capsys.readouterr().err
    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cxr_model.cli",
            "scan",
            str(studies),
            "--engine",
            "ray",
            "--address",
            f"127.0.0.1:{port}",
            "--out",
            str(tmp_path / "o.csv"),
        ],
        env={**os.environ, "CXR_MODEL_DIR": str(model_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 4
    assert f"cannot reach the Ray cluster at 127.0.0.1:{port}" in result.stderr
    assert time.monotonic() - start < 60, "an unreachable cluster must fail, not hang"
    assert read_csv(tmp_path / "o.csv") == []


def test_parquet_output_refuses_what_it_did_not_write(tmp_path):
    not_a_folder = tmp_path / "x.parquet"
    not_a_folder.write_bytes(b"PAR1")
    for call in (scored_parquet, ParquetSink):
        with pytest.raises(DataError, match="not a scan parquet folder"):
            call(not_a_folder)
    foreign = tmp_path / "foreign.parquet"
    foreign.mkdir()
    pq.write_table(pa.table({"a": [1]}), foreign / "data.parquet")
    with pytest.raises(DataError, match="other columns"):
        scored_parquet(foreign)
    ours = tmp_path / "ours.parquet"
    ours.mkdir()
    (ours / ".part-x-000000.parquet.tmp").write_bytes(b"half a part")
    sink = ParquetSink(ours)
    assert not list(ours.iterdir()), "a killed scan's unfinished part was not removed"
    sink.add(dict.fromkeys(RESULT_FIELDS) | {"file": "a.png", "error": "a.png: file is empty"})
    sink.close()
    assert scored_parquet(ours) == set()
    assert pq.read_table(ours).to_pylist()[0]["error"] == "a.png: file is empty"
    gone = tmp_path / "gone.parquet"  # the folder vanishes under a running scan
    sink = ParquetSink(gone, flush_rows=1)
    gone.rmdir()
    gone.write_text("not a folder any more")
    with pytest.raises(DataError, match="cannot write a parquet part"):
        sink.add(dict.fromkeys(RESULT_FIELDS) | {"file": "b.png"})
    sink.close()  # the failed rows are not retried: no second error


def test_app_never_imports_ray_and_cli_says_what_is_missing(model_dir, studies):
    probe = (
        "import sys; import cxr_desktop.app, cxr_model.cli.main; "
        "assert not {'ray', 'pyarrow', 'cxr_model.cluster'} & set(sys.modules), "
        "sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'pyarrow'))"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=120)
    without_ray = (
        "import sys; sys.modules['ray'] = None; from cxr_model.cli.main import main; "
        f"sys.exit(main(['scan', {str(studies)!r}, '--engine', 'ray']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", without_ray],
        capture_output=True,
        text=True,
        env={**os.environ, "CXR_MODEL_DIR": str(model_dir)},
        timeout=120,
    )
    assert result.returncode == 2
    assert "--engine ray needs the cluster extra: pip install 'cxr-desktop[cluster]'" in (
        result.stderr
    )
