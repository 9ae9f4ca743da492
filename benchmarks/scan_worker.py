"""Worker: one core `scan` of a folder in a fresh process, like `cxr scan --out`.

`python -m benchmarks.scan_worker --model DIR [--precision int8|fp32] --folder F --csv OUT
--json-out F`. Rows go to
a `CsvSink` (flushed and fsynced per row, as the CLI does). The model load is timed apart
from the scan, and the forward passes apart from the rest of it (`NetworkClock`); peak RSS is
read at the end (VmHWM; ru_maxrss is kept for reference).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path
from typing import Any

from benchmarks.common import THREADS, NetworkClock, peak_rss_mb, status_mb, write_json


def run_scan(
    model_dir: Path, folder: Path, csv_path: Path, precision: str = "auto"
) -> dict[str, Any]:
    """Scan `folder` once; throughput excludes the model load."""
    from cxr_model.inference.predictor import load_model
    from cxr_model.inference.scan import CsvSink, plan_scan, scan

    start = time.perf_counter()
    model = load_model(model_dir, backend="onnx", threads=THREADS, precision=precision)
    load_s = time.perf_counter() - start
    clock = NetworkClock(model.backend)
    csv_path.unlink(missing_ok=True)
    sink = CsvSink(csv_path)
    images = errors = 0
    first_row_s = None
    start = time.perf_counter()
    for row in scan(model, plan_scan(folder)):
        sink.add(row)
        images += 1
        errors += bool(row["error"])
        if first_row_s is None:
            first_row_s = time.perf_counter() - start
    scan_s = time.perf_counter() - start
    sink.close()
    return {
        "precision": model.precision,
        "images": images,
        "errors": errors,
        "load_s": load_s,
        "scan_s": scan_s,
        "first_row_s": first_row_s,
        "images_per_s": images / scan_s if scan_s > 0 else None,
        "outside_network_share": 1.0 - clock.seconds / scan_s if scan_s > 0 else None,
        "peak_rss_mb": peak_rss_mb(),
        "vmhwm_mb": status_mb("VmHWM"),
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--precision", default="auto", choices=("auto", "int8", "fp32"))
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--json-out", type=Path, required=True)
    args = parser.parse_args()
    write_json(args.json_out, run_scan(args.model, args.folder, args.csv, args.precision))


if __name__ == "__main__":
    main()
