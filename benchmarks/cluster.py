"""The ray engine's overhead on one machine, against the local engine on the same files.

    python -m benchmarks.cluster [--quick] [--runs N] [--out benchmarks/cluster.json]

For the test split (224 px JPEGs, half with a report) and the full-resolution set, in the
same run and on the same files:
- `cxr scan FOLDER --engine local|ray --out F.csv` as a subprocess, timed end to end, each
  engine at its default batch size (the ray one starts and stops its own local Ray);
- the same scans in this process (the ray ones on an already running local Ray) at batch 8,
  ray again at its default: the first row, the rate after it, CPU seconds per image of this
  process and of the actor, and of the actor's work without Ray (one model, one thread);
- the ray engine with actors that score nothing: what Ray Data and the driver can carry;
- what the driver's sinks write (CsvSink / ParquetSink rows per second) and the mean file
  size: the limits of the paper plan in docs/cluster.md.
Writes the JSON (paths relative to the repository) and a Markdown table beside it.
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

from benchmarks.common import ROOT, machine_facts, worker_env, write_json
from benchmarks.data import build_inputs
from cxr_model.cluster.engine import BATCH_SIZE as RAY_BATCH
from cxr_model.cluster.worker import ScanActor

HERE = Path(__file__).resolve().parent
MODEL = ROOT / "resources" / "models" / "paediatric"
ENGINES = ("local", "ray")
LOCAL_BATCH = 8  # the local engine's batch: both engines in-process, ray again at RAY_BATCH


def log(message: str) -> None:
    print(f"[cluster bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def cli_run(engine: str, folder: Path, out: Path) -> dict[str, Any]:
    """One `cxr scan` subprocess into a fresh CSV: wall time and images per second."""
    out.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "cxr_model.cli",
        "scan",
        str(folder),
        "--engine",
        engine,
        "--out",
        str(out),
        "--quiet",
    ]
    start = time.perf_counter()
    done = subprocess.run(
        command,
        env=worker_env(CXR_MODEL_DIR=str(MODEL)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    rows = out.read_text(encoding="utf-8").count("\n") - 1
    return {"wall_s": wall, "rows": rows, "images_per_s": rows / wall}


def steady_run(
    engine: str, model, folder: Path, actor_start_cpu_s: float = 0.0, batch_size: int = LOCAL_BATCH
) -> dict[str, Any]:
    """One scan in this process (Ray already up): first-row latency, the rate after it, and
    CPU seconds per image, of this process and, for ray, of the actor (its CPU time at the
    last row, while it still lives, less `actor_start_cpu_s`: its start and model load).
    CPU time barely depends on what else the machine runs: on a busy machine it is the
    better estimate of what a dedicated core would do."""
    from cxr_model.cluster.engine import ray_scan
    from cxr_model.inference.scan import plan_scan, scan

    plan = plan_scan(folder)
    total = len(plan.files)
    if engine == "ray":
        wait_for_no_actors()
    rows = (
        scan(model, plan, batch_size=batch_size)
        if engine == "local"
        else ray_scan(model, plan, batch_size=batch_size)
    )
    cpu_start, start = time.process_time(), time.perf_counter()
    stamps, actor = [], None
    for _ in rows:
        stamps.append(time.perf_counter() - start)
        if engine == "ray" and len(stamps) == total:
            actor = actor_usage()
    process_cpu = time.process_time() - cpu_start
    first, last = stamps[0], stamps[-1]
    after_first = sum(1 for t in stamps if t > first)
    result = {
        "rows": len(stamps),
        "first_row_s": first,
        "total_s": last,
        "images_per_s": len(stamps) / last,
        "steady_images_per_s": after_first / (last - first) if last > first else None,
        "process_cpu_s_per_image": process_cpu / len(stamps),
    }
    if actor is not None:
        result |= {
            "actor_cpu_s": actor[0],
            "actor_peak_rss_mb": actor[1],
            "actor_cpu_s_per_image": (actor[0] - actor_start_cpu_s) / total,
        }
    return result


def bare_cpu_s_per_image(folder: Path, batch_size: int = LOCAL_BATCH) -> float:
    """CPU seconds per image of what an actor does without Ray around it: one model on one
    thread reading, preprocessing and scoring the folder's files in batches."""
    from cxr_model.inference.predictor import load_model
    from cxr_model.inference.scan import load_study, plan_scan

    model = load_model(MODEL, threads=1)
    files = plan_scan(folder).files
    start = time.process_time()
    for i in range(0, len(files), batch_size):
        studies = [load_study(model, path) for path in files[i : i + batch_size]]
        model.predict_batch([image for image, _ in studies], [report for _, report in studies])
    return (time.process_time() - start) / len(files)


def actor_usage() -> tuple[float, float, int]:
    """CPU seconds (user + system, summed), the largest peak RSS in MB (VmHWM) and the
    number of the running ScanActor processes."""
    tick = os.sysconf("SC_CLK_TCK")
    cpu, peaks = 0.0, [0.0]
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or b"ScanActor" not in (proc / "cmdline").read_bytes():
                continue
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            status = (proc / "status").read_text()
        except OSError:
            continue
        cpu += (int(stat[11]) + int(stat[12])) / tick  # utime, stime: fields 14 and 15
        peaks += [
            int(line.split()[1]) * 1024 / 1e6
            for line in status.splitlines()
            if line.startswith("VmHWM:")
        ]
    return cpu, max(peaks), len(peaks) - 1


def wait_for_no_actors(timeout: float = 60.0) -> None:
    """Let the previous scan's actors exit, so that only the next one's are counted."""
    deadline = time.monotonic() + timeout
    while actor_usage()[2] and time.monotonic() < deadline:
        time.sleep(0.2)


class NullActor:
    """Stands in for ScanActor with no model: an error row per file, nothing decoded."""

    def __init__(self, **_: Any) -> None:
        pass

    def __call__(self, batch):
        from cxr_model.cluster.schema import rows_table
        from cxr_model.inference.scan import result_row

        return rows_table(
            [result_row(Path(p).name, error="not scored") for p in batch.column("path").to_pylist()]
        )


def pipeline_ceiling(model, folder: Path, out: Path, batch_size: int) -> dict[str, Any]:
    """Rows per second through the ray engine when the actors do no work (NullActor): what
    Ray Data and the driver, writing the CSV, can carry on this machine; and the driver's
    CPU per row."""
    import cxr_model.cluster.engine as engine
    from cxr_model.inference.scan import CsvSink, plan_scan

    wait_for_no_actors()
    plan = plan_scan(folder)
    out.unlink(missing_ok=True)
    sink = CsvSink(out)
    engine.ScanActor = NullActor
    try:
        stamps, cpu = [], 0.0
        for row in engine.ray_scan(model, plan, batch_size=batch_size):
            sink.add(row)
            stamps.append(time.perf_counter())
            if len(stamps) == 1:
                cpu = time.process_time()
        cpu = time.process_time() - cpu
    finally:
        engine.ScanActor = ScanActor
        sink.close()
    seconds = stamps[-1] - stamps[0]
    return {
        "batch_size": batch_size,
        "rows": len(stamps),
        "rows_per_s": len(stamps) / seconds,
        "driver_cpu_ms_per_row": cpu / (len(stamps) - 1) * 1000,
    }


def driver_write_rates(tmp: Path, rows: int) -> dict[str, float]:
    """Rows per second the driver can hand to each sink (synthetic scored rows)."""
    from cxr_model.cluster.parquet import ParquetSink
    from cxr_model.inference.scan import RESULT_FIELDS, CsvSink

    row = dict.fromkeys(RESULT_FIELDS) | {
        "probability": 0.912345,
        "image_probability": 0.9,
        "text_probability": None,
        "label": "abnormal",
        "threshold": 0.46,
        "used_report": False,
        "discordant": False,
        "uncertain": False,
        "ood": False,
    }
    rates = {}
    for name, sink in (
        ("csv", CsvSink(tmp / "rate.csv")),
        ("parquet", ParquetSink(tmp / "rate.parquet")),
    ):
        start = time.perf_counter()
        for i in range(rows):
            sink.add(row | {"file": f"study/{i:08d}.png"})
        sink.close()
        rates[f"{name}_rows_per_s"] = rows / (time.perf_counter() - start)
    return rates


def mean_file_kb(folder: Path) -> float:
    sizes = [p.stat().st_size for p in folder.iterdir() if p.suffix != ".txt"]
    return statistics.fmean(sizes) / 1e3


def rate(runs: list[dict], images: int, batch_size: int) -> str:
    """The median steady rate, when the rows came in enough batches to measure one."""
    if images // batch_size < 8:
        return "(too few batches)"
    return f"{median(runs, 'steady_images_per_s'):.1f} img/s"


def median(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def heading(title: str, results: dict) -> list[str]:
    """A Markdown title, then what the figures were taken on and how busy it was."""
    m = results["machine"]
    return [
        f"# {title}",
        "",
        f"{m['cpu_model']}, {m['usable_cores']} usable cores, {m['memory_gb']} GB; load "
        f"average at start {m['load_average_at_start']}; {m['date']}. {results['note']}",
        "",
    ]


def render(results: dict) -> str:
    """The Markdown table of the figures."""
    lines = [
        *heading(
            "Ray engine vs local engine, one machine (`python -m benchmarks.cluster`)", results
        ),
        "Medians of the runs. End to end: `cxr scan --out F.csv` as a subprocess, each "
        f"engine at its default batch size (local {LOCAL_BATCH}, ray {RAY_BATCH}; model load "
        "and, for ray, starting and stopping a local Ray included). In-process: the scan "
        f"alone (Ray already running) at batch {LOCAL_BATCH} unless the row says otherwise: "
        "its first row, the rate after it, and CPU seconds per image of this process (for "
        'ray: the driver) and of the actor. "no Ray": the actor\'s work alone (one model, '
        "one thread, same files).",
        "",
        "| folder | images | engine | end to end | in-process first row | steady rate "
        "| CPU s/image: process | actor |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for name, folder in results["folders"].items():
        for engine in ENGINES:
            cli, steady = folder[engine]["cli"], folder[engine]["steady"]
            actor = median(steady, "actor_cpu_s_per_image")
            lines.append(
                f"| {name} | {folder['images']} | {engine} | "
                f"{median(cli, 'wall_s'):.1f} s ({median(cli, 'images_per_s'):.1f} img/s) | "
                f"{median(steady, 'first_row_s'):.2f} s | "
                f"{rate(steady, folder['images'], LOCAL_BATCH)} | "
                f"{median(steady, 'process_cpu_s_per_image') * 1000:.1f} ms | "
                + (f"{actor * 1000:.1f} ms |" if actor is not None else "|")
            )
        big = folder[f"ray_batch{RAY_BATCH}"]
        lines.append(
            f"| {name} | {folder['images']} | ray, --batch-size {RAY_BATCH} | | "
            f"{median(big, 'first_row_s'):.2f} s | "
            f"{rate(big, folder['images'], RAY_BATCH)} | "
            f"{median(big, 'process_cpu_s_per_image') * 1000:.1f} ms | "
            f"{median(big, 'actor_cpu_s_per_image') * 1000:.1f} ms |"
        )
        lines.append(
            f"| {name} | {folder['images']} | no Ray, 1 thread | | | | | "
            f"{folder['bare_cpu_s_per_image'] * 1000:.1f} ms |"
        )
    d = results["driver"]
    actor_rss = max(
        run.get("actor_peak_rss_mb") or 0
        for folder in results["folders"].values()
        for run in folder["ray"]["steady"]
    )
    lines += [
        "",
        "Ray Data and the driver alone (actors that score nothing, rows written to "
        "a CSV): "
        + ", ".join(
            f"{p['rows_per_s']:,.0f} rows/s at --batch-size {p['batch_size']} "
            f"(driver CPU {p['driver_cpu_ms_per_row']:.2f} ms/row)"
            for p in results["pipeline"]
        )
        + ".",
    ]
    lines += [
        "",
        f"Driver alone: CsvSink {d['csv_rows_per_s']:,.0f} rows/s, ParquetSink "
        f"{d['parquet_rows_per_s']:,.0f} rows/s. Ray start (local, "
        f"{results['ray_cpus']:g} CPUs): {results['ray_start_s']:.1f} s; actors: "
        f"{results['actors']} x 1 CPU (one ONNX thread each), peak RSS of one actor "
        f"{actor_rss:.0f} MB, CPU to start one (worker, model load, one image) "
        f"{results['actor_start_cpu_s']:.1f} s. Mean file size: "
        + ", ".join(
            f"{name} {folder['mean_file_kb']:.0f} kB" for name, folder in results["folders"].items()
        )
        + ".",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="48 test images, one run")
    parser.add_argument("--runs", type=int, default=2, help="runs per engine (alternating)")
    parser.add_argument("--out", type=Path, default=HERE / "cluster.json")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    with tempfile.TemporaryDirectory(prefix="cxr-cluster-bench-") as tmp:
        work = Path(tmp)
        inputs = build_inputs(work / "inputs", args.quick)
        folders = {
            "test split, 224 px JPEG": inputs.test_folder,
            "full resolution JPEG": inputs.fullres_folder,
        }
        results: dict[str, Any] = {
            "machine": machine_facts(),
            "note": "Measured on a busy shared 2-core machine (other jobs running): "
            "re-measure on a quiet one before quoting.",
            "model": MODEL.relative_to(ROOT).as_posix(),
            "data": "../shared/data: cxr-pairs test split (every other image with its "
            "report) and fullres (x4 names, every other with a report)",
            "folders": {},
        }
        for name, folder in folders.items():
            entry = {
                "images": inputs.test_count
                if folder == inputs.test_folder
                else inputs.fullres_count,
                "mean_file_kb": mean_file_kb(folder),
            }
            entry |= {engine: {"cli": [], "steady": []} for engine in ENGINES}
            for run in range(runs):
                for engine in ENGINES:
                    log(f"{name}: cxr scan --engine {engine} (run {run + 1}/{runs})")
                    entry[engine]["cli"].append(cli_run(engine, folder, work / "out.csv"))
            results["folders"][name] = entry

        import ray

        from cxr_model.cluster.engine import connect, pool_size
        from cxr_model.inference.predictor import load_model

        model = load_model(MODEL, threads=2)
        for name, folder in folders.items():
            log(f"{name}: the actor's work without Ray")
            results["folders"][name]["bare_cpu_s_per_image"] = bare_cpu_s_per_image(folder)
        for engine in ENGINES:  # local first: Ray's idle processes would slow it down
            if engine == "ray":
                start = time.perf_counter()
                connect()
                results["ray_start_s"] = time.perf_counter() - start
                results["ray_cpus"] = ray.cluster_resources()["CPU"]
                results["actors"] = pool_size(results["ray_cpus"], 1.0)
                one = work / "one"  # an actor's start: the same scan of a single image
                one.mkdir()
                (one / "x.jpeg").symlink_to(next(inputs.test_folder.glob("*.jpeg")))
                results["actor_start_cpu_s"] = steady_run("ray", model, one)["actor_cpu_s"]
            for name, folder in folders.items():
                for run in range(runs):
                    log(f"{name}: in-process {engine} (run {run + 1}/{runs})")
                    results["folders"][name][engine]["steady"].append(
                        steady_run(engine, model, folder, results.get("actor_start_cpu_s", 0))
                    )
        for name, folder in folders.items():
            log(f"{name}: in-process ray, --batch-size {RAY_BATCH}")
            results["folders"][name][f"ray_batch{RAY_BATCH}"] = [
                steady_run("ray", model, folder, results["actor_start_cpu_s"], RAY_BATCH)
            ]
        many = work / "many"  # the test split under 4 names each
        many.mkdir()
        for copy in range(1 if args.quick else 4):
            for path in inputs.test_folder.glob("*.jpeg"):
                (many / f"{path.stem}-{copy}{path.suffix}").symlink_to(path.resolve())
        results["pipeline"] = []
        for batch_size in (LOCAL_BATCH, RAY_BATCH):
            log(f"pipeline ceiling (no model), --batch-size {batch_size}")
            results["pipeline"].append(pipeline_ceiling(model, many, work / "null.csv", batch_size))
        ray.shutdown()
        results["driver"] = driver_write_rates(work, 20_000 if args.quick else 200_000)
    write_json(args.out, results)
    args.out.with_suffix(".md").write_text(render(results), encoding="utf-8")
    log(f"wrote {os.path.relpath(args.out, ROOT)} and its .md")


if __name__ == "__main__":
    main()
