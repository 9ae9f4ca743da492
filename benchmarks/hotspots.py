"""Profiling driver: loop the single-image path or scan a folder, for a profiler to sample.

    python -m benchmarks.hotspots single --model DIR --image X.jpeg [--runs 50] [--cprofile]
    python -m benchmarks.hotspots scan --model DIR --folder F [--cprofile]

Under py-spy: `py-spy record --native -o out.svg -- python -m benchmarks.hotspots ...`.
With --cprofile it prints the cumulative top of Python's own profiler.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

from benchmarks.common import THREADS


def single(model_dir: Path, image: Path, runs: int) -> None:
    """`runs` x (read image + report, predict with report, heatmap), like the app."""
    from cxr_model.inference.predictor import load_model
    from cxr_model.text.report import read_report

    model = load_model(model_dir, threads=THREADS)
    report_file = image.with_suffix(".txt")
    for _ in range(runs):
        report = read_report(report_file) if report_file.is_file() else None
        prediction = model.predict(model.read(image), report)
        model.heatmap(prediction, "abnormal")


def scan_folder(model_dir: Path, folder: Path) -> None:
    """One scan into a CSV, as `cxr scan --out` does."""
    from cxr_model.inference.predictor import load_model
    from cxr_model.inference.scan import CsvSink, plan_scan, scan

    model = load_model(model_dir, threads=THREADS)
    with tempfile.TemporaryDirectory() as tmp:
        sink = CsvSink(Path(tmp) / "scan.csv")
        for row in scan(model, plan_scan(folder)):
            sink.add(row)
        sink.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("single", "scan"))
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--image", type=Path)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    if args.mode == "single":
        if args.image is None:
            parser.error("single needs --image")
        job = lambda: single(args.model, args.image, args.runs)  # noqa: E731
    else:
        if args.folder is None:
            parser.error("scan needs --folder")
        job = lambda: scan_folder(args.model, args.folder)  # noqa: E731
    start = time.perf_counter()
    if args.cprofile:
        profiler = cProfile.Profile()
        profiler.runcall(job)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)
    else:
        job()
    print(f"wall {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
