"""Run the whole benchmark suite and write results.json + RESULTS.md.

    python -m benchmarks.run [--quick] [--model DIR | --fixture] [--out benchmarks/results.json]

Every part runs in a fresh Python process (ONNX Runtime and torch never share one, peak RSS
is per process). The single-image and scan parts run once per precision the model folder
has (fp32, and int8 when `cxr quantize` made one), beside the seed-style baseline, so every
ratio comes from one run on one machine. `--quick` is for checking the suite itself: few
repeats, a subset of the images, and it writes results.quick.json / RESULTS.quick.md unless
--out is given.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, machine_facts, run_worker, worker_env, write_json
from benchmarks.data import Inputs, build_inputs
from benchmarks.report import evaluate_targets, render_markdown
from cxr_model.inference.card import INT8_NAME, load_card

HERE = Path(__file__).resolve().parent
DEFAULT_MODEL = ROOT / "resources" / "models" / "paediatric"


def settings(quick: bool) -> dict[str, int]:
    """Repeat counts of a full or a quick run."""
    if quick:
        return {
            "warmup": 1,
            "repeats": 3,
            "scan_runs": 1,
            "baseline_scan_runs": 1,
            "app_launches": 2,
            "session_rounds": 2,
        }
    return {
        "warmup": 3,
        "repeats": 30,
        "scan_runs": 3,
        "baseline_scan_runs": 1,
        "app_launches": 7,
        "session_rounds": 7,
    }


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def image_args(images: dict[str, Path]) -> list[str]:
    """--image KIND=PATH arguments of a worker."""
    return [arg for kind, path in images.items() for arg in ("--image", f"{kind}={path}")]


def model_facts(model_dir: Path) -> dict[str, Any]:
    """Which model was measured (path, demo flag, ONNX digest prefixes, precisions)."""
    card = load_card(model_dir)

    def digest(name: str) -> str | None:
        path = model_dir / name
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else None

    unusable = card.int8_unusable()
    shown = model_dir.relative_to(ROOT) if model_dir.is_relative_to(ROOT) else model_dir.name
    return {
        "dir": shown.as_posix(),
        "demo": card.is_demo,
        "text_mode": card.text_mode,
        "onnx_sha256_prefix": digest("model.onnx"),
        "int8_sha256_prefix": digest(INT8_NAME),
        "has_weights": (model_dir / "weights.safetensors").is_file(),
        "precisions": ["fp32"] + (["int8"] if INT8_NAME in card.data["files"] else []),
        "default_precision": "fp32" if unusable else "int8",
        "int8_not_default": unusable,
    }


def scan_series(
    module: str, extra: list[str], folder: Path, runs: int, work: Path, model_dir: Path
) -> dict[str, Any]:
    """`runs` scans of `folder`, each in a fresh process; median/min/max images per second."""
    results = []
    tag = "-".join([module.rsplit(".", 1)[-1], *(e.lstrip("-") for e in extra)])
    for i in range(runs):
        csv_path = work / f"{folder.name}-{tag}-{i}.csv"
        results.append(
            run_worker(
                module,
                [
                    *extra,
                    "--model",
                    str(model_dir),
                    "--folder",
                    str(folder),
                    "--csv",
                    str(csv_path),
                ],
                timeout=1800,
                env=worker_env(),
            )
        )
    good = [r for r in results if "error" not in r and r.get("images_per_s")]
    summary: dict[str, Any] = {"runs": results}
    if good:
        rates = [r["images_per_s"] for r in good]
        summary.update(
            images=good[0]["images"],
            errors=max(r["errors"] for r in good),
            images_per_s={
                "median": statistics.median(rates),
                "min": min(rates),
                "max": max(rates),
                "n": len(rates),
            },
            peak_rss_mb=max(r["peak_rss_mb"] for r in good),
            load_s=statistics.median(r["load_s"] for r in good),
        )
    return summary


def app_series(model_dir: Path, launches: int, open_image: Path, work: Path) -> dict[str, Any]:
    """Launch the app probe `launches` times (first paint), then once more opening an X-ray."""
    config = work / "xdg-config"  # keeps the user's QSettings out of it
    config.mkdir(exist_ok=True)
    env = worker_env(
        QT_QPA_PLATFORM="offscreen", CXR_MODEL_DIR=str(model_dir), XDG_CONFIG_HOME=str(config)
    )

    def launch(extra: list[str]) -> dict[str, Any]:
        out = config / f"probe-{time.time_ns()}.json"
        t0 = time.monotonic()
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.app_probe",
            "--t0",
            repr(t0),
            "--json-out",
            str(out),
            *extra,
        ]
        try:
            proc = subprocess.run(
                cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False
            )
        except subprocess.TimeoutExpired:
            return {"error": "app probe timed out"}
        if not out.is_file():
            tail = (proc.stderr or "").strip().splitlines()[-15:]
            return {"error": f"app probe exited {proc.returncode}", "stderr": tail}
        return json.loads(out.read_text(encoding="utf-8"))

    runs = []
    for _ in range(launches):
        runs.append(launch([]))
        if runs[-1].get("skipped"):
            break
    result: dict[str, Any] = {"launches": runs}
    skipped = next((r["skipped"] for r in runs if r.get("skipped")), None)
    if skipped:
        result["skipped"] = skipped
        return result
    firsts = [r["first_frame_s"] for r in runs if "first_frame_s" in r]
    if firsts:
        result["first_frame_s"] = {
            "median": statistics.median(firsts),
            "min": min(firsts),
            "max": max(firsts),
            "n": len(firsts),
        }
        paints = [r["first_paint_s"] for r in runs if "first_paint_s" in r]
        result["first_paint_s"] = {
            "median": statistics.median(paints),
            "min": min(paints),
            "max": max(paints),
            "n": len(paints),
        }
    result["open"] = launch(["--open", str(open_image)])
    return result


def run_suite(model_dir: Path, quick: bool, work: Path, parts: set[str]) -> dict[str, Any]:
    """Every figure; returns the results document."""
    conf = settings(quick)
    log("building inputs")
    inputs: Inputs = build_inputs(work / "inputs", quick)
    doc: dict[str, Any] = {
        "mode": "quick" if quick else "full",
        "machine": machine_facts(),
        "model": model_facts(model_dir),
        "settings": conf,
        "inputs": inputs.describe(),
    }
    reps = ["--warmup", str(conf["warmup"]), "--repeats", str(conf["repeats"])]
    plain = {k: v for k, v in inputs.single.items() if v.suffix != ".dcm"}  # what PIL opens
    precisions = doc["model"]["precisions"]
    if "single" in parts:
        doc["single"] = {}
        for precision in precisions:
            log(f"single image: cxr_model (ONNX Runtime, {precision})")
            doc["single"][precision] = run_worker(
                "benchmarks.single",
                [
                    "--model",
                    str(model_dir),
                    "--precision",
                    precision,
                    *reps,
                    *image_args(inputs.single),
                ],
                timeout=1800,
                env=worker_env(),
            )
    if "baseline" in parts:
        log("single image: seed baseline (torch eager)")
        doc["baseline_single"] = run_worker(
            "benchmarks.baseline",
            ["single", "--model", str(model_dir), *reps, *image_args(plain)],
            timeout=3600,
            env=worker_env(),
        )
    if "sessions" in parts:
        log(f"session options, forward pass only, {conf['session_rounds']} interleaved rounds")
        doc["sessions"] = run_worker(
            "benchmarks.sessions",
            [
                "--model",
                str(model_dir),
                "--image",
                str(inputs.single["jpeg224"]),
                "--rounds",
                str(conf["session_rounds"]),
            ],
            timeout=1800,
            env=worker_env(),
        )
    if "scan" in parts:
        doc["scan"] = {precision: {} for precision in precisions}
        for precision in precisions:
            for name, folder in (
                ("test", inputs.test_folder),
                ("fullres", inputs.fullres_folder),
                ("detector", inputs.detector_folder),
            ):
                log(f"scan {name}, {precision}: cxr_model.inference.scan x{conf['scan_runs']}")
                doc["scan"][precision][name] = scan_series(
                    "benchmarks.scan_worker",
                    ["--precision", precision],
                    folder,
                    conf["scan_runs"],
                    work,
                    model_dir,
                )
    if "baseline" in parts and "scan" in parts:
        log("scan test: seed baseline, one image at a time")
        doc["baseline_scan"] = {
            "test": scan_series(
                "benchmarks.baseline",
                ["scan"],
                inputs.test_folder,
                conf["baseline_scan_runs"],
                work,
                model_dir,
            )
        }
    if "app" in parts:
        log(f"app start x{conf['app_launches']} (offscreen)")
        doc["app"] = app_series(
            model_dir, conf["app_launches"], inputs.single["jpeg_fullres"], work
        )
    try:
        doc["machine"]["load_average_at_end"] = os.getloadavg()
    except OSError:
        pass
    doc["targets"] = evaluate_targets(doc)
    return doc


def main() -> None:
    parser = argparse.ArgumentParser(description="CXR Desktop performance suite")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="few repeats, few images: checks the suite, figures not valid",
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=DEFAULT_MODEL,
        help="model folder (default: resources/models/paediatric)",
    )
    parser.add_argument(
        "--fixture",
        action="store_true",
        help="measure an untrained fixture model built in a temp folder",
    )
    parser.add_argument("--out", type=Path, help="results JSON (default benchmarks/results.json)")
    parser.add_argument("--md", type=Path, help="Markdown table (default: RESULTS.md beside it)")
    parser.add_argument(
        "--only",
        default="single,baseline,sessions,scan,app",
        help="comma-separated parts: single,baseline,sessions,scan,app",
    )
    args = parser.parse_args()
    suffix = ".quick" if args.quick else ""
    out = args.out or HERE / f"results{suffix}.json"
    md = args.md or out.parent / f"RESULTS{suffix}.md"
    parts = {p.strip() for p in args.only.split(",") if p.strip()}

    with tempfile.TemporaryDirectory(prefix="cxr-bench-") as tmp:
        work = Path(tmp)
        model_dir = args.model.resolve()
        if args.fixture:
            from tests.conftest import build_fixture_model

            log("building the fixture model (untrained)")
            model_dir = build_fixture_model(work / "fixture_model")
        if not (model_dir / "model_card.json").is_file():
            raise SystemExit(
                f"no model at {model_dir} (no model_card.json); train one, pass "
                "--model DIR, or use --fixture to check the suite"
            )
        started = time.perf_counter()
        doc = run_suite(model_dir, args.quick, work, parts)
        doc["suite_wall_s"] = time.perf_counter() - started
    write_json(out, doc)
    md.write_text(render_markdown(doc), encoding="utf-8")
    log(f"wrote {out} and {md}")
    print(md.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
