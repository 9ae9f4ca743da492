"""Targets of the performance issue, and the RESULTS.md rendering of a results document."""

from __future__ import annotations

import statistics
from typing import Any

IMAGE_KINDS = {
    "jpeg224": "224 px JPEG",
    "jpeg_fullres": "full-res JPEG",
    "dicom16": "16-bit DICOM",
    "dicom_detector": "16-bit DICOM, detector size",
}
SINGLE_OPS = {
    "read_preprocess": "read + preprocess",
    "network": "network forward pass only (image pre-read)",
    "predict_no_report": "predict, no report (image pre-read)",
    "predict_report": "predict, with report (image pre-read)",
    "heatmap": "heatmap as the viewer draws it (model input size; Qt scales it)",
    "heatmap_full": "heatmap at full resolution (`--heatmap`, Secondary Capture)",
    "end_to_end": "end to end: read image + report, predict, viewer's heatmap",
    "end_to_end_full": "end to end with the full-resolution heatmap",
}
SCAN_SETS = {  # doc["scan"][precision] key -> (label, doc["inputs"] key)
    "test": ("test split", "scan_test"),
    "fullres": ("full-res set", "scan_fullres"),
    "detector": ("detector-size 16-bit DICOMs", "scan_detector"),
}


def _get(doc: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(doc, dict) or key not in doc:
            return None
        doc = doc[key]
    return doc


def default_precision(doc: dict[str, Any]) -> str:
    """The precision the CLI and the app run by default (int8 when its gates passed)."""
    return doc.get("model", {}).get("default_precision", "fp32")


def speedups(doc: dict[str, Any], precision: str) -> dict[str, float | None]:
    """Baseline median / ours median, end to end (predict + heatmap from the file), and scan
    rates over the baseline's and over fp32's (today's) in the same run."""
    out = {}
    for kind in ("jpeg224", "jpeg_fullres"):
        base = _get(doc, "baseline_single", "images", kind, "end_to_end", "median")
        for op, key in (("end_to_end", kind), ("end_to_end_full", f"{kind}_full")):
            ours = _get(doc, "single", precision, "images", kind, op, "median")
            out[key] = base / ours if ours and base else None
    big = _get(doc, "single", precision, "images", "dicom_detector", "end_to_end", "median")
    small = _get(doc, "single", precision, "images", "jpeg224", "end_to_end", "median")
    out["detector_over_224"] = big / small if big and small else None
    detector = _get(doc, "scan", precision, "detector", "images_per_s", "median")
    ours = _get(doc, "scan", precision, "test", "images_per_s", "median")
    base = _get(doc, "baseline_scan", "test", "images_per_s", "median")
    fp32 = _get(doc, "scan", "fp32", "test", "images_per_s", "median")
    out["scan_test"] = ours / base if ours and base else None
    out["scan_test_vs_fp32"] = ours / fp32 if ours and fp32 else None
    out["scan_detector_over_test"] = detector / ours if detector and ours else None
    return out


def evaluate_targets(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target, for the default precision: measured value, limit and pass (None
    where not measured)."""
    precision = default_precision(doc)
    ratio = speedups(doc, precision)
    rss = [
        _get(doc, "scan", p, name, "peak_rss_mb")
        for p in doc.get("scan", {})
        for name in ("test", "fullres")
    ]
    rows = [
        (
            f"predict + heatmap, one 224 px image (end to end, median), {precision}",
            "ms",
            "<=",
            40.0,
            _get(doc, "single", precision, "images", "jpeg224", "end_to_end", "median"),
        ),
        (
            f"scan throughput, test split (median of runs), {precision}",
            "img/s",
            ">=",
            40.0,
            _get(doc, "scan", precision, "test", "images_per_s", "median"),
        ),
        (
            f"scan throughput, full-resolution set (median of runs), {precision}",
            "img/s",
            ">=",
            15.0,
            _get(doc, "scan", precision, "fullres", "images_per_s", "median"),
        ),
        (
            "peak RSS of the scanning process (max of all scans)",
            "MB",
            "<=",
            400.0,
            max((r for r in rss if r is not None), default=None),
        ),
        (
            f"speed-up vs seed baseline, predict + heatmap, 224 px, {precision}",
            "x",
            ">=",
            10.0,
            ratio["jpeg224"],
        ),
        (
            f"speed-up vs seed baseline, predict + heatmap, full-res JPEG, {precision}",
            "x",
            ">=",
            8.0,
            ratio["jpeg_fullres"],
        ),
        (
            f"predict + heatmap end to end, 2500x2048 16-bit DICOM over 224 px JPEG, {precision}",
            "x",
            "<=",
            2.5,
            ratio["detector_over_224"],
        ),
        (
            f"scan rate, 2500x2048 16-bit DICOMs over 224 px files (test split), {precision}",
            "x",
            ">=",
            0.75,
            ratio["scan_detector_over_test"],
        ),
        (
            f"scan rate, test split, {precision} over fp32 (today's) in the same run",
            "x",
            ">=",
            2.0,
            ratio["scan_test_vs_fp32"],
        ),
        (
            "app start to first painted window (median)",
            "s",
            "<=",
            1.5,
            _get(doc, "app", "first_frame_s", "median"),
        ),
    ]
    targets = []
    for name, unit, op, limit, value in rows:
        passed = None if value is None else (value <= limit if op == "<=" else value >= limit)
        targets.append(
            {
                "target": name,
                "unit": unit,
                "op": op,
                "limit": limit,
                "measured": value,
                "pass": passed,
            }
        )
    return targets


def _num(value: Any, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _verdict(passed: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "not measured"}[passed]


def _error_lines(name: str, part: Any) -> list[str]:
    if isinstance(part, dict) and "error" in part:
        lines = [f"- **{name} failed**: {part['error']}"]
        lines += [f"  - `{line}`" for line in part.get("stderr", [])[-5:]]
        return lines
    return []


def render_markdown(doc: dict[str, Any]) -> str:
    """RESULTS.md: machine facts, targets, then one table per figure."""
    m = doc["machine"]
    model = doc["model"]
    lines = ["# CXR Desktop benchmark results", ""]
    flags = ", ".join(m.get("cpu_flags") or []) or "none listed"
    if doc["mode"] == "quick":
        lines += [
            "> **QUICK MODE**: few repeats on a subset of the images, to check the "
            "suite. These figures are **not valid** measurements.",
            "",
        ]
    lines += [
        f"- Date: {m['date']}; suite wall time {_num(doc.get('suite_wall_s'), 0)} s",
        f"- CPU: {m['cpu_model']}; {m['logical_cores']} logical cores "
        f"({m['usable_cores']} usable); {m['memory_gb']} GB RAM",
        f"- Instruction sets ONNX Runtime can use for int8 here: {flags}"
        + (
            ""
            if "vnni" in flags or "amx" in flags
            else " (without VNNI or AMX x86 int8 kernels multiply-add in 16 bit, which limits "
            "the int8 speed-up)"
        ),
        f"- Load average at start / end: {m.get('load_average_at_start')} / "
        f"{m.get('load_average_at_end')}",
        f"- Python {m['python']}, onnxruntime {m['onnxruntime']}, torch {m['torch']}, "
        f"numpy {m['numpy']}, Pillow {m['pillow']}, PySide6 {m['pyside6']}; {m['os']}",
        f"- Threads: {m['threads']} (ONNX Runtime intra-op; torch.set_num_threads)",
        f"- Model: `{model['dir']}` (demo/untrained: {model['demo']}, text mode "
        f"{model['text_mode']}, onnx sha256 {model['onnx_sha256_prefix']}…, int8 sha256 "
        f"{model.get('int8_sha256_prefix')}…); precisions measured: "
        f"{', '.join(model.get('precisions', ['fp32']))}; default (what `cxr` and the app "
        f"run): {default_precision(doc)}"
        + (f" ({model['int8_not_default']})" if model.get("int8_not_default") else ""),
        f"- Repeats: {doc['settings']['repeats']} timed after {doc['settings']['warmup']} "
        f"warm-up per single-image figure; {doc['settings']['scan_runs']} scan run(s) per set, "
        "each in a fresh process; MB = 10^6 bytes",
        "",
        "## Targets",
        "",
        "| Target | Limit | Measured | Verdict |",
        "|---|---|---|---|",
    ]
    for t in doc["targets"]:
        digits = 0 if t["unit"] in ("MB",) else 2 if t["unit"] in ("s", "x") else 1
        measured = "n/a" if t["measured"] is None else f"{_num(t['measured'], digits)} {t['unit']}"
        lines.append(
            f"| {t['target']} | {t['op']} {t['limit']:g} {t['unit']} | "
            f"{measured} | {_verdict(t['pass'])} |"
        )
    lines += [""]
    lines += _single_tables(doc)
    lines += _session_table(doc)
    lines += _scan_table(doc)
    lines += _app_section(doc)
    return "\n".join(lines) + "\n"


def _precisions(doc: dict[str, Any], part: str) -> list[str]:
    """Precisions measured by a part, fp32 first."""
    return sorted(doc.get(part) or {}, key=lambda p: p != "fp32")


def _single_tables(doc: dict[str, Any]) -> list[str]:
    if "single" not in doc and "baseline_single" not in doc:
        return []
    lines = ["## Single image (ms: median [min – max])", ""]
    for precision in _precisions(doc, "single"):
        lines += _error_lines(
            f"cxr_model single-image worker ({precision})", doc["single"][precision]
        )
    lines += _error_lines("baseline single-image worker", doc.get("baseline_single"))
    inputs = doc["inputs"]["single"]
    kinds = [k for k in IMAGE_KINDS if k in inputs]
    header = " | ".join(
        f"{IMAGE_KINDS[k]} ({'x'.join(map(str, inputs[k]['size']))})" for k in kinds
    )

    def cell(*path: str) -> str:
        stats = _get(doc, *path)
        if not stats:
            return "n/a"
        return f"{stats['median']:.1f} [{stats['min']:.1f} – {stats['max']:.1f}]"

    for precision in _precisions(doc, "single"):
        lines += [
            f"| cxr_model (ONNX Runtime, {precision}) | {header} |",
            "|---" * (len(kinds) + 1) + "|",
        ]
        for op, label in SINGLE_OPS.items():
            lines.append(
                f"| {label} | "
                + " | ".join(cell("single", precision, "images", k, op) for k in kinds)
                + " |"
            )
        shares = [outside_network(doc, precision, k) for k in kinds]
        lines.append(
            "| share of end to end outside the network | "
            + " | ".join("n/a" if v is None else f"{100 * v:.0f}%" for v in shares)
            + " |"
        )
        lines.append("")
    if "baseline_single" not in doc:
        return lines
    weights = _get(doc, "baseline_single", "weights") or "n/a"
    lines += [
        f"Seed baseline (torch eager, hooks Grad-CAM; weights: {weights}); "
        "speed-up = baseline median / cxr_model median (end to end), same run.",
        "",
        "| Seed baseline | 224 px JPEG | full-res JPEG |",
        "|---|---|---|",
    ]
    base_ops = {
        "predict_report": "predict with report, from the file (no grad)",
        "end_to_end": "predict + Grad-CAM at full resolution, from the file",
    }
    for op, label in base_ops.items():
        lines.append(
            f"| {label} | {cell('baseline_single', 'images', 'jpeg224', op)} | "
            f"{cell('baseline_single', 'images', 'jpeg_fullres', op)} |"
        )
    for precision in _precisions(doc, "single"):
        ratio = speedups(doc, precision)
        lines.append(
            f"| **speed-up, end to end, {precision}** | {_times(ratio['jpeg224'])} | "
            f"{_times(ratio['jpeg_fullres'])} |"
        )
        lines.append(
            f"| speed-up with our heatmap at full resolution too, {precision} | "
            f"{_times(ratio['jpeg224_full'])} | {_times(ratio['jpeg_fullres_full'])} |"
        )
    return [*lines, ""]


def outside_network(doc: dict[str, Any], precision: str, kind: str) -> float | None:
    """Median share of an end-to-end run spent outside the forward pass."""
    return _get(doc, "single", precision, "images", kind, "outside_network", "median")


def _outside_scan(doc: dict[str, Any], precision: str, name: str) -> float | None:
    """Median over runs of the share of a scan's time outside the forward passes."""
    runs = _get(doc, "scan", precision, name, "runs") or []
    shares = [r["outside_network_share"] for r in runs if r.get("outside_network_share")]
    return statistics.median(shares) if shares else None


def _session_table(doc: dict[str, Any]) -> list[str]:
    part = doc.get("sessions")
    if part is None:
        return []
    lines = ["## ONNX Runtime session options (forward pass only, 224 px input)", ""]
    if "error" in part:
        return [*lines, *_error_lines("session options worker", part), ""]
    variants = part["variants"]
    base = variants.get("fp32 (shipped options)", {}).get("ms_per_image", {})
    lines += [
        f"Median over {part['rounds']} interleaved rounds of each round's median; "
        "ratio = fp32 with the shipped options / this variant, same batch size.",
        "",
        "| Variant | session created (s) | batch 1 ms | ratio | batch 8 ms/image | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for name, entry in variants.items():
        ms = entry["ms_per_image"]
        ratios = [base[b] / ms[b] if base.get(b) and ms.get(b) else None for b in ("1", "8")]
        lines.append(
            f"| {name} | {entry['session_s']:.2f} | {ms['1']:.2f} | "
            f"{_times(ratios[0])} | {ms['8']:.2f} | {_times(ratios[1])} |"
        )
    return [*lines, ""]


def _scan_table(doc: dict[str, Any]) -> list[str]:
    if "scan" not in doc and "baseline_scan" not in doc:
        return []
    lines = [
        "## Batch scan (fresh process per run; model load excluded from img/s)",
        "",
        "| Scan | Images (with report) | img/s median [min – max] | Model load s | Peak RSS MB |",
        "|---|---|---|---|---|",
    ]
    inputs = doc["inputs"]
    rows = []
    for precision in _precisions(doc, "scan"):
        rows += [
            (f"cxr_model scan, {label}, {precision}", _get(doc, "scan", precision, name), key)
            for name, (label, key) in SCAN_SETS.items()
            if _get(doc, "scan", precision, name) is not None
        ]
    rows.append(
        (
            "seed baseline, test split, one at a time",
            _get(doc, "baseline_scan", "test"),
            "scan_test",
        )
    )
    errors = []
    for label, part, key in rows:
        if part is None:
            continue
        for run in part.get("runs", []):
            errors += _error_lines(label, run)
        rate = part.get("images_per_s")
        count = f"{inputs[key]['images']} ({inputs[key]['with_report']})"
        if rate is None:
            lines.append(f"| {label} | {count} | failed | | |")
            continue
        if part.get("errors"):
            errors.append(f"- **{label}**: {part['errors']} file(s) failed to score")
        lines.append(
            f"| {label} | {count} | {rate['median']:.1f} [{rate['min']:.1f} – "
            f"{rate['max']:.1f}] | {part['load_s']:.2f} | {part['peak_rss_mb']:.0f} |"
        )
    lines.append("")
    for precision in _precisions(doc, "scan"):
        ratio = speedups(doc, precision)
        if ratio["scan_test"] is not None:
            lines.append(
                f"- Scan rate, test split, {precision}: {ratio['scan_test']:.2f}x the "
                f"baseline's, {_times(ratio['scan_test_vs_fp32'])} fp32's; detector-size DICOMs "
                f"at {_times(ratio['scan_detector_over_test'])} the test split's rate"
            )
        shares = [
            f"{label} {100 * share:.0f}%"
            for name, (label, _key) in SCAN_SETS.items()
            if (share := _outside_scan(doc, precision, name)) is not None
        ]
        if shares:
            lines.append(f"- Scan time outside the network, {precision}: " + ", ".join(shares))
    return [*lines, *errors, ""]


def _app_section(doc: dict[str, Any]) -> list[str]:
    app = doc.get("app")
    if app is None:
        return []
    lines = [
        f"## App start (offscreen, QT_QPA_PLATFORM=offscreen; the app runs "
        f"{default_precision(doc)})",
        "",
    ]
    if app.get("skipped"):
        return [*lines, f"Skipped: {app['skipped']}", ""]
    for run in app.get("launches", []):
        lines += _error_lines("app launch", run)
    frame = app.get("first_frame_s")
    paint = app.get("first_paint_s")
    if frame:
        lines += [
            "| Figure | median | min | max | n |",
            "|---|---|---|---|---|",
            f"| process launch → first Paint event (s) | {paint['median']:.2f} | "
            f"{paint['min']:.2f} | {paint['max']:.2f} | {paint['n']} |",
            f"| process launch → first frame fully painted (s) | {frame['median']:.2f} | "
            f"{frame['min']:.2f} | {frame['max']:.2f} | {frame['n']} |",
        ]
    opened = app.get("open") or {}
    if opened.get("skipped") or opened.get("open_skipped") or opened.get("error"):
        reason = opened.get("skipped") or opened.get("open_skipped") or opened.get("error")
        lines += ["", f"Opening an X-ray: skipped ({reason})"]
    elif opened:
        lines += [
            "",
            f"Opening the full-res JPEG via `MainWindow.{opened.get('open_method')}`: "
            f"image shown after {_num(opened.get('image_shown_s'), 2)} s, prediction after "
            f"{_num(opened.get('prediction_shown_s'), 2)} s, heatmap after "
            f"{_num(opened.get('heatmap_shown_s'), 2)} s. Model ready "
            f"{_num(opened.get('model_ready_s'), 2)} s after launch. RSS after the first "
            f"frame {_num(opened.get('rss_after_start_mb'), 0)} MB, with the model loaded "
            f"{_num(opened.get('rss_model_ready_mb'), 0)} MB, after loading the X-ray "
            f"{_num(opened.get('rss_after_open_mb'), 0)} MB (peak "
            f"{_num(opened.get('peak_rss_mb'), 0)} MB).",
        ]
        if opened.get("heatmap_toggled_by_probe_at_s") is not None:
            lines.append(
                "The heatmap is computed on demand: the probe switched it on (as "
                "pressing H) once the prediction showed."
            )
        if opened.get("open_note"):
            lines.append(f"Note: {opened['open_note']}")
    return [*lines, ""]
