"""PACS speed (issue 10), against a real Orthanc started here on 127.0.0.1:

1. find + retrieve + score a one-image study, end to end (target: under 1 s), in process with
   the model loaded, by DIMSE (C-FIND + C-GET) and DICOMweb (QIDO-RS + WADO-RS); plus one
   cold `cxr pacs scan` process (Python start and model load included), for reference.
2. `cxr listen` fed 200 DICOM images by DCMTK storescu vs `cxr scan` of the same 200 files
   (target: the listener at >= 80% of the scan rate).

`python -m benchmarks.pacs [--images N] [--width PX]` writes benchmarks/pacs_results.json and
benchmarks/PACS_RESULTS.md. Needs Orthanc (+ DICOMweb plugin), DCMTK and ../shared/data.
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import FULLRES_DIR, ROOT, THREADS, machine_facts, publish, summarize

sys.path.insert(0, str(ROOT / "tests"))  # the Orthanc and DICOM helpers of the test suite

from helpers_orthanc import (
    dcmtk,
    free_port,
    start_orthanc,
    storescu,
    write_study,
    xray_pixels,
)

OUT_JSON = ROOT / "benchmarks" / "pacs_results.json"
OUT_MD = ROOT / "benchmarks" / "PACS_RESULTS.md"
REPEATS = 10


def _cxr(*args: str) -> list[str]:
    return [sys.executable, "-m", "cxr_model.cli", *args]


def end_to_end(orthanc, work: Path, width: int) -> dict:
    """Median time of find + retrieve + score of a one-image study, per protocol."""
    from cxr_model.dicom_net.client import Pacs
    from cxr_model.dicom_net.node import parse_node
    from cxr_model.dicom_net.query import StudyQuery
    from cxr_model.inference.router import load_models

    image = sorted(FULLRES_DIR.glob("*.jpeg"))[0]
    [source] = write_study(work / "one", xray_pixels(image, width), "BENCH-ONE")
    assert storescu(orthanc.dicom_port, [source]).returncode == 0
    model = load_models(threads=THREADS)
    results = {}
    for kind, node in (("dimse", orthanc.dimse), ("dicomweb", orthanc.web)):
        pacs = Pacs(parse_node(node))
        samples = []
        for run in range(REPEATS + 1):
            start = time.perf_counter()
            [study] = pacs.find(StudyQuery(patient_id="BENCH-ONE")).studies
            [path] = pacs.retrieve(study.study_uid, work / f"{kind}-{run}")
            model.predict(path)
            if run:  # the first run warms caches up
                samples.append((time.perf_counter() - start) * 1000.0)
        results[kind] = summarize(samples)
    start = time.perf_counter()
    subprocess.run(
        _cxr(
            "pacs",
            "scan",
            orthanc.dimse,
            "--patient-id",
            "BENCH-ONE",
            "--out",
            str(work / "cold.csv"),
            "--quiet",
        ),
        check=True,
        capture_output=True,
    )
    results["cold_cli_dimse_ms"] = (time.perf_counter() - start) * 1000.0
    results["image"] = f"../{image.relative_to(ROOT.parent).as_posix()} at {width} px wide"
    return results


def _rows(path: Path) -> int:
    if not path.is_file():
        return 0
    with open(path, newline="", encoding="utf-8") as fh:
        return max(0, sum(1 for _ in csv.reader(fh)) - 1)


def listener_vs_scan(work: Path, count: int, width: int) -> dict:
    """Images per second: `cxr listen` fed by storescu vs `cxr scan` of the same files."""
    from cxr_model.inference.router import load_models
    from cxr_model.inference.scan import plan_scan, scan

    images = sorted(FULLRES_DIR.glob("*.jpeg"))
    folder = work / "two-hundred"
    pixels = [xray_pixels(p, width) for p in images]
    files = []
    for number in range(count):
        files += write_study(folder, pixels[number % len(pixels)], f"BENCH-{number:04d}")
    model = load_models(threads=THREADS)
    scan_ms = []
    for _ in range(2):  # the second run is the figure (files in the page cache, as for storescu)
        start = time.perf_counter()
        rows = list(scan(model, plan_scan(folder)))
        scan_ms.append((time.perf_counter() - start) * 1000.0)
    assert len(rows) == count and not any(r["error"] for r in rows)
    del model

    out, port = work / "listen", free_port()
    log = open(work / "listen.log", "wb")
    process = subprocess.Popen(
        _cxr(
            "listen",
            "--port",
            str(port),
            "--out",
            str(out),
            "--bind",
            "127.0.0.1",
            "--allow",
            "LOADER",
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 120
        while b"listening as" not in (work / "listen.log").read_bytes():
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        start = time.perf_counter()
        sender = subprocess.Popen(
            [
                dcmtk("storescu"),
                "-aet",
                "LOADER",
                "-aec",
                "CXRDESKTOP",
                "-nh",
                "127.0.0.1",
                str(port),
                *map(str, files),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while _rows(out / "results.csv") < count:
            assert process.poll() is None and time.monotonic() - start < 1200
            time.sleep(0.02)
        listen_s = time.perf_counter() - start
        assert sender.wait(timeout=60) == 0
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=120)
        log.close()
    scan_rate = count / (scan_ms[-1] / 1000.0)
    listen_rate = count / listen_s
    return {
        "images": count,
        "width_px": width,
        "scan_img_per_s": scan_rate,
        "scan_runs_ms": scan_ms,
        "listen_img_per_s": listen_rate,
        "listen_over_scan": listen_rate / scan_rate,
        "bytes_per_file": statistics.median(f.stat().st_size for f in files),
    }


def render(doc: dict) -> str:
    e2e, rate = doc["end_to_end"], doc["listener_vs_scan"]
    facts = doc["machine"]
    lines = [
        "# PACS benchmarks (issue 10)",
        "",
        f"`python -m benchmarks.pacs` on {facts['cpu_model']} ({facts['logical_cores']} "
        f"logical cores), {doc['measured_at']}, load average "
        f"{facts['load_average_at_start'][0]:.1f} at the start. **{doc['conditions']}**",
        "",
        "| figure | measured | target |",
        "|---|---:|---:|",
        f"| find + retrieve + score, one-image study, DIMSE (C-FIND + C-GET), median of "
        f"{e2e['dimse']['n']} | {e2e['dimse']['median']:.0f} ms | < 1000 ms |",
        f"| same, DICOMweb (QIDO-RS + WADO-RS) | {e2e['dicomweb']['median']:.0f} ms | < 1000 ms |",
        f"| same, one cold `cxr pacs scan` process (start + model load included) | "
        f"{e2e['cold_cli_dimse_ms']:.0f} ms | |",
        f"| `cxr scan` of {rate['images']} DICOM files | {rate['scan_img_per_s']:.1f} img/s | |",
        f"| `cxr listen` fed the same files by storescu | {rate['listen_img_per_s']:.1f} img/s | |",
        f"| listener / scan rate | {rate['listen_over_scan'] * 100:.1f}% | >= 80% |",
        "",
        f"Images: {e2e['image']}; the {rate['images']} files are real X-rays from "
        f"`../shared/data/fullres` at {rate['width_px']} px wide, 16-bit, "
        f"{rate['bytes_per_file'] / 1e6:.2f} MB each. Orthanc runs on 127.0.0.1 in a "
        "temporary folder.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument(
        "--conditions",
        default="busy machine (other jobs running): "
        "indicative only, to be re-measured on a quiet machine",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cxr-bench-pacs-") as tmp:
        work = Path(tmp)
        orthanc = start_orthanc(work / "orthanc")
        try:
            e2e = end_to_end(orthanc, work, args.width)
        finally:
            orthanc.stop()
        rate = listener_vs_scan(work, args.images, args.width)
    doc = {
        "machine": machine_facts(),
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "conditions": args.conditions,
        "load_average": os.getloadavg(),
        "end_to_end": e2e,
        "listener_vs_scan": rate,
    }
    return publish(doc, OUT_JSON, OUT_MD, render)


if __name__ == "__main__":
    sys.exit(main())
