"""A two-node Ray cluster made with `ray start` against the local engine, same files, same run.

    python -m benchmarks.cluster_nodes [--images 100 780] [--runs 2] [--out FILE.json]

Starts the cluster the way docs/cluster.md says (`tests/helpers_ray_start.py`: token
authentication on, head and worker node of one CPU each on 127.0.0.1), then runs, alternating,
`cxr scan FOLDER --engine local --out F.csv` and `cxr scan FOLDER --engine ray --address HEAD
--out F.csv` as subprocesses on the first `--images` images (each count in turn) of the
cxr-pairs test split, every other one with its report. For each run: the wall time, when the
first rows and the last row reached the CSV, and the rate in between. Writes the JSON (paths
relative to the repository) and a Markdown table beside it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.cluster import heading, median
from benchmarks.common import PAIRS_CSV, ROOT, machine_facts, worker_env, write_json
from benchmarks.data import test_rows
from tests.helpers_ray_start import RAY_ENV, two_nodes

HERE = Path(__file__).resolve().parent
MODEL = ROOT / "resources" / "models" / "paediatric"
ENGINES = ("local", "ray")
#: The rate between the first and the last row is shown only when they are this far apart:
#: the ray engine's rows come a batch of 32 at a time.
MIN_SPAN_S = 1.0
COMMANDS = {"local": "`cxr scan --engine local`", "ray": "`cxr scan --engine ray --address HEAD`"}


def log(message: str) -> None:
    print(f"[cluster nodes {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def build_folder(folder: Path, images: int) -> int:
    """Links to the first `images` test-split images, every other with its report."""
    folder.mkdir()
    rows = test_rows()[:images]
    for i, row in enumerate(rows):
        source = PAIRS_CSV.parent / row["image"]
        (folder / source.name).symlink_to(source)
        if i % 2 == 0:
            (folder / source.name).with_suffix(".txt").write_text(row["report"] + "\n")
    return len(rows)


def timed_scan(command: list[str], env: dict[str, str], out: Path, images: int) -> dict[str, Any]:
    """Run one `cxr scan` into a fresh CSV, watching it grow: the wall time, when the first
    rows and the last row reached the CSV, and the rate in between (the ray engine's rows
    come a batch at a time: the rows of the first batch are left out of that rate)."""
    out.unlink(missing_ok=True)
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    first = last = None
    first_rows = 0
    while process.poll() is None and last is None:
        rows = out.read_text(encoding="utf-8").count("\n") - 1 if out.is_file() else 0
        if first is None and rows > 0:
            first, first_rows = time.perf_counter() - start, rows
        if rows == images:
            last = time.perf_counter() - start
        time.sleep(0.05)
    _, stderr = process.communicate(timeout=600)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr[-2000:]}")
    rows = out.read_text(encoding="utf-8").count("\n") - 1
    if rows != images:
        raise SystemExit(f"{rows} rows for {images} images:\n{stderr[-2000:]}")
    first = wall if first is None else first
    last = wall if last is None else last
    return {
        "wall_s": wall,
        "images_per_s": rows / wall,
        "first_row_s": first,
        "first_rows": first_rows,
        "last_row_s": last,
        "after_first_images_per_s": (rows - first_rows) / (last - first)
        if last > first and rows > first_rows
        else None,
    }


def render(results: dict) -> str:
    """The Markdown table of the figures."""
    title = "Two-node Ray cluster vs local engine (`python -m benchmarks.cluster_nodes`)"
    lines = [
        *heading(title, results),
        "The cxr-pairs test split (224 px JPEG, every other with its report); `cxr scan "
        "FOLDER --out F.csv` as a subprocess, medians of "
        f"{results['runs']} runs, alternating. {results['cluster']}",
        "",
        "| images | engine | end to end | first rows (how many) | last row | rate in between |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for size in results["sizes"]:
        for engine in ENGINES:
            runs = size[engine]
            span = statistics.median(r["last_row_s"] - r["first_row_s"] for r in runs)
            after = median(runs, "after_first_images_per_s") if span >= MIN_SPAN_S else None
            lines.append(
                f"| {size['images']} | {COMMANDS[engine]} | {median(runs, 'wall_s'):.1f} s "
                f"({median(runs, 'images_per_s'):.1f} img/s) | "
                f"{median(runs, 'first_row_s'):.1f} s ({median(runs, 'first_rows'):.0f}) | "
                f"{median(runs, 'last_row_s'):.1f} s | "
                + (f"{after:.1f} img/s |" if after is not None else "(too few batches) |")
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, nargs="+", default=[100, 780])
    parser.add_argument("--runs", type=int, default=2, help="runs per engine (alternating)")
    parser.add_argument("--out", type=Path, default=HERE / "cluster_nodes.json")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": machine_facts(),
        "note": "Measured on a shared 2-core machine (other agents' jobs running): "
        "re-measure on a quiet one before quoting.",
        "runs": args.runs,
        "cluster": "Ray: `ray start --head --num-cpus 1` and `ray start --address HEAD "
        "--num-cpus 1` on this machine, token authentication on; one actor of one CPU "
        "(the other CPU kept for reading files), batch 32. Local: 2 ONNX Runtime threads, "
        "batch 8.",
        "sizes": [],
    }
    with tempfile.TemporaryDirectory(prefix="cxr-cluster-nodes-") as tmp:
        work = Path(tmp)
        log("starting the two nodes")
        with two_nodes(work / "cluster", cpus=(1, 1)) as (address, env):
            # the machine's HOME holds the token (~/.ray/auth_token); no RAY_* settings
            env = worker_env(CXR_MODEL_DIR=str(MODEL), HOME=env["HOME"])
            env = {k: v for k, v in env.items() if k not in RAY_ENV}
            extra = {"local": [], "ray": ["--address", address]}
            for wanted in args.images:
                folder = work / f"images-{wanted}"
                size: dict[str, Any] = {"images": build_folder(folder, wanted)}
                size |= {engine: [] for engine in ENGINES}
                for run in range(args.runs):
                    for engine in ENGINES:
                        log(f"{size['images']} images: {COMMANDS[engine]} ({run + 1}/{args.runs})")
                        command = [sys.executable, "-m", "cxr_model.cli", "scan", str(folder)]
                        command += ["--engine", engine, *extra[engine], "--quiet"]
                        command += ["--out", str(work / "out.csv")]
                        size[engine].append(
                            timed_scan(command, env, work / "out.csv", size["images"])
                        )
                results["sizes"].append(size)
    write_json(args.out, results)
    args.out.with_suffix(".md").write_text(render(results), encoding="utf-8")
    log(f"wrote {os.path.relpath(args.out, ROOT)} and its .md")


if __name__ == "__main__":
    main()
