"""`cxr scan --engine ray --address` against a real two-node cluster started the way
docs/cluster.md says (`helpers_ray_start`: token authentication on, 127.0.0.1, a HOME of its
own, stopped by PID): the local engine's rows, a broken file as its error row, a killed scan
resumed without duplicates, Ray's own lines only with --verbose, and one `cxr:` line that
says what to set when the token is missing or wrong."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="the cluster extra (ray[data]) is not installed")

from helpers_ray_start import RAY, two_nodes
from helpers_scan import kill_after_lines

from cxr_model.inference.scan import plan_scan, scan

TOLERANCE = 1e-5  # probabilities: the actors run other batches on one thread


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[tuple[str, dict]]:
    """(address, environment of the machine): a head and a worker node of one CPU each
    (one actor, and one CPU kept for the read tasks: two actors would stall them)."""
    if not RAY.is_file():
        pytest.skip(f"no `ray` command beside {sys.executable}")
    with two_nodes(tmp_path_factory.mktemp("ray-start"), cpus=(1, 1)) as running:
        yield running


@pytest.fixture(scope="module")
def folder(tmp_path_factory, sample_images) -> Path:
    """Real X-rays under 16 names, one with its report, and a broken file."""
    out = tmp_path_factory.mktemp("ray-start-studies") / "studies"
    out.mkdir()
    jpegs = [p for p in sample_images if p.suffix == ".jpeg"]
    for i in range(16):
        shutil.copy(jpegs[i % len(jpegs)], out / f"{i:02d}-{jpegs[i % len(jpegs)].name}")
    reported = next(p for p in jpegs if p.with_suffix(".txt").is_file())
    shutil.copy(
        reported.with_suffix(".txt"), out / f"{jpegs.index(reported):02d}-{reported.stem}.txt"
    )
    (out / "broken.jpeg").write_bytes(jpegs[0].read_bytes()[:200])
    return out


def cxr_scan(folder: Path, address: str, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "cxr_model.cli", "scan", str(folder), "--engine", "ray"] + [
        "--address",
        address,
        "--out",
        str(out),
        *extra,
    ]


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def assert_same_as_local(model, folder: Path, rows: list[dict]) -> None:
    """One row per file, each equal to the local engine's (probabilities within TOLERANCE)."""
    assert not [f for f, n in Counter(r["file"] for r in rows).items() if n > 1]
    local = {r["file"]: r for r in scan(model, plan_scan(folder))}
    got = {r["file"]: r for r in rows}
    assert sorted(got) == sorted(local)
    for name, want in local.items():
        if want["error"]:
            assert got[name]["error"] == want["error"], name
            continue
        assert got[name]["label"] == want["label"], name
        assert got[name]["used_report"] == str(want["used_report"]).lower(), name
        assert float(got[name]["probability"]) == pytest.approx(want["probability"], abs=TOLERANCE)


def test_scan_on_a_token_cluster_made_with_ray_start(cluster, model, model_dir, folder, tmp_path):
    address, env = cluster
    env = env | {"CXR_MODEL_DIR": str(model_dir)}  # the token only in ~/.ray/auth_token
    out = tmp_path / "ray.csv"
    done = subprocess.run(
        cxr_scan(folder, address, out), env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    rows = read_rows(out)
    assert_same_as_local(model, folder, rows)
    broken = next(r for r in rows if r["file"] == "broken.jpeg")
    assert broken["error"].startswith(f"{folder}/broken.jpeg: ") and not broken["label"]
    assert sum(r["used_report"] == "true" for r in rows) == 1
    # Ray's own lines stay off the terminal: stderr holds cxr's lines and nothing else
    lines = done.stderr.splitlines()
    assert lines[-1].startswith("scanned 16 image(s), 1 error(s), 0 already in"), done.stderr
    assert all(line.startswith("cxr: ") for line in lines[:-1]), done.stderr


def test_killed_scan_resumes_without_duplicates(cluster, model, model_dir, folder, tmp_path):
    address, env = cluster
    env = env | {"CXR_MODEL_DIR": str(model_dir)}
    out = tmp_path / "resumed.csv"
    command = cxr_scan(folder, address, out, "--batch-size", "2")
    killed = kill_after_lines(command, env, out, 2)
    assert 2 <= len(killed) < 17, "the scan was not killed mid-way"
    done = subprocess.run(
        [*command, "--verbose"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    scored = [r for r in killed if not r["error"]]
    assert f", {len(scored)} already in {out}" in done.stderr
    assert "core_worker.cc" in done.stderr, "--verbose shows Ray's own lines"
    rows = read_rows(out)
    latest = {r["file"]: r for r in rows}  # a failed file is tried again: its latest row
    scored = [r["file"] for r in rows if not r["error"]]
    assert len(scored) == len(set(scored)) == 16, "a file was scored twice"
    assert_same_as_local(model, folder, list(latest.values()))


def test_what_to_set_when_the_token_is_missing_or_wrong(cluster, model_dir, folder, tmp_path):
    address, env = cluster
    env = env | {"CXR_MODEL_DIR": str(model_dir), "RAY_gcs_server_port_wait_time_s": "2"}
    cases = {  # (environment, what the one line says)
        "no token": (
            env | {"HOME": str(tmp_path)},
            f"the Ray cluster at {address} requires token authentication and this machine "
            "has no token: copy the head node's ~/.ray/auth_token",
        ),
        "wrong token": (
            env | {"RAY_AUTH_TOKEN": "not-the-token"},
            f"the Ray cluster at {address} refused the token in RAY_AUTH_TOKEN: set "
            "RAY_AUTH_TOKEN to the cluster's token",
        ),
        "unreadable token file": (
            env | {"RAY_AUTH_TOKEN_PATH": str(tmp_path / "none")},
            "set RAY_AUTH_TOKEN to the cluster's token (`ray get-auth-token` on the head node "
            "prints it), or RAY_AUTH_TOKEN_PATH to a readable file that holds it",
        ),
    }
    for case, (case_env, message) in cases.items():
        done = subprocess.run(
            cxr_scan(folder, address, tmp_path / "o.csv"),
            env=case_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 4, (case, done.stderr)
        assert done.stderr.startswith("cxr: ") and message in done.stderr, (case, done.stderr)
        assert done.stderr.count("\n") == 1, (case, done.stderr)
