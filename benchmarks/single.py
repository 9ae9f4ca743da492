"""Worker: single-image latencies of `cxr_model` (ONNX Runtime, 2 threads) at one precision.

`python -m benchmarks.single --model DIR [--precision int8|fp32] --image KIND=PATH ...
--json-out F`. Each image has a same-stem .txt report. Per image it times:

- read_preprocess: `Model.read(path)` + `Model.prepare` (or `preprocess` on an older core),
  a fresh read each run
- network: the forward pass alone (`backend.run`) on the prepared image and its report
- predict_no_report / predict_report: `Model.predict` on an image read once (what the app
  does when only the report changes)
- heatmap: `Model.heatmap` of an existing prediction as the viewer draws it (model input
  size; Qt scales it when painting)
- heatmap_full: the same at the image's full resolution (`--heatmap`, Secondary Capture)
- end_to_end: read the image and its report file, predict with the report, the viewer's
  heatmap; end_to_end_full: the same with the full-resolution heatmap
- outside_network: per end-to-end run, the share of its time outside the forward pass
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    THREADS,
    NetworkClock,
    outside_network_share,
    peak_rss_mb,
    status_mb,
    time_op,
    write_json,
)


def measure(
    model_dir: Path, images: dict[str, Path], warmup: int, repeats: int, precision: str = "auto"
) -> dict[str, Any]:
    """Time every operation on every image; returns {"load_s", "images": {kind: {op: stats}}}."""
    from cxr_model.imaging.preprocess import preprocess
    from cxr_model.inference.predictor import load_model
    from cxr_model.text.report import read_report

    start = time.perf_counter()
    model = load_model(model_dir, backend="onnx", threads=THREADS, precision=precision)
    load_s = time.perf_counter() - start
    clock = NetworkClock(model.backend)
    results: dict[str, Any] = {}
    for kind, path in images.items():
        report_file = path.with_suffix(".txt")
        report = read_report(report_file)
        image = model.read(path)
        prediction = model.predict(image, report)

        def end_to_end(
            path: Path = path, report_file: Path = report_file, full_size: bool = False
        ) -> None:
            pred = model.predict(model.read(path), read_report(report_file))
            model.heatmap(pred, "abnormal", full_size=full_size)

        inputs = model.network_inputs([model.prepare(image)], [report])

        def read_preprocess(path: Path = path) -> None:
            image = model.read(path)
            if hasattr(model, "prepare"):  # newer core: Model.prepare(image) -> Prepared
                model.prepare(image)
            else:
                preprocess(image, model.spec)

        ops = {
            "read_preprocess": read_preprocess,
            "network": lambda inputs=inputs: model.backend.run(*inputs),
            "predict_no_report": lambda image=image: model.predict(image, None),
            "predict_report": lambda image=image, report=report: model.predict(image, report),
            "heatmap": lambda p=prediction: model.heatmap(p, "abnormal", full_size=False),
            "heatmap_full": lambda p=prediction: model.heatmap(p, "abnormal"),
            "end_to_end": end_to_end,
            "end_to_end_full": lambda e=end_to_end: e(full_size=True),
        }
        results[kind] = {name: time_op(fn, warmup, repeats) for name, fn in ops.items()}
        results[kind]["outside_network"] = outside_network_share(end_to_end, clock, repeats)
        results[kind]["info"] = {
            "decoded_size": list(image.pixels.shape[::-1]),
            "original_size": list(image.original_size),
            "used_report": prediction.used_report,
        }
    return {
        "load_s": load_s,
        "precision": model.precision,
        "images": results,
        "peak_rss_mb": peak_rss_mb(),
        "rss_mb": status_mb("VmRSS"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--precision", default="auto", choices=("auto", "int8", "fp32"))
    parser.add_argument("--image", action="append", default=[], metavar="KIND=PATH")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json-out", type=Path, required=True)
    args = parser.parse_args()
    images = {kind: Path(path) for kind, path in (item.split("=", 1) for item in args.image)}
    write_json(
        args.json_out, measure(args.model, images, args.warmup, args.repeats, args.precision)
    )


if __name__ == "__main__":
    main()
