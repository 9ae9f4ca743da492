"""`cxr`: predict, scan, evaluate and train from the command line.

Exit status: 0 success, 2 bad input (reason on stderr), 3 no usable model.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from cxr_model import NOT_A_DEVICE, dataset_build
from cxr_model.card import CARD_NAME, record_metrics
from cxr_model.errors import CXRError, ModelError
from cxr_model.overlay import blend
from cxr_model.predictor import Model, load_model
from cxr_model.reader import read_image, read_report
from cxr_model.scan import (
    RESULT_FIELDS,
    CsvSink,
    csv_values,
    plan_scan,
    read_sibling_report,
    result_row,
    scan,
    scored_files,
)

EXIT_BAD_INPUT = 2
EXIT_NO_MODEL = 3


def _report_argument(value: str | None, image: Path) -> str | None:
    """--report as a file if one exists by that name, else literal text; default x.txt."""
    if value is None:
        return read_sibling_report(image)
    looks_like_path = len(value) < 4096 and not any(c.isspace() for c in value)
    if looks_like_path and (value.lower().endswith(".txt") or Path(value).is_file()):
        return read_report(value)  # a missing x.txt is an error, not report text
    return value


def write_heatmap(model: Model, image_path: Path, prediction, out: Path,
                  target: str = "abnormal") -> None:
    """Write the image at full resolution with the heatmap blended over it."""
    image = read_image(image_path)
    gray = (image.to_unit() * 255.0 + 0.5).astype(np.uint8)
    rgb = blend(gray, model.heatmap(prediction, target))
    try:
        Image.fromarray(rgb).save(out, format="PNG")
    except (OSError, ValueError) as exc:
        raise CXRError(f"cannot write the heatmap ({exc})", out) from exc


def _describe(row: dict) -> str:
    lines = [f"{row['file']}: {row['label'].upper()}  P(abnormal) {row['probability']:.3f} "
             f"(threshold {row['threshold']:.3f}, "
             f"{'image + report' if row['used_report'] else 'image only: no report'})",
             f"  image only {row['image_probability']:.3f}"
             + ("" if row["text_probability"] is None
                else f"   report only {row['text_probability']:.3f}")]
    if row["discordant"]:
        lines.append("  WARNING: image and report point to different labels")
    if row["ood"]:
        lines.append("  WARNING: this does not look like a chest X-ray; do not trust the label")
    lines.append(f"  {NOT_A_DEVICE}")
    return "\n".join(lines)


def cmd_predict(args: argparse.Namespace, model: Model) -> int:
    image = Path(args.image)
    try:
        report = _report_argument(args.report, image)
        prediction = model.predict(image, report)
        if args.heatmap:
            write_heatmap(model, image, prediction, Path(args.heatmap), args.target)
    except CXRError as exc:
        if args.json:
            print(json.dumps(result_row(str(image), error=str(exc))))
        print(f"cxr: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    row = result_row(str(image), prediction)
    print(json.dumps(row) if args.json else _describe(row))
    return 0


def cmd_scan(args: argparse.Namespace, model: Model) -> int:
    folder = Path(args.folder)
    out = Path(args.out) if args.out else None
    counts = {"scored": 0, "errors": 0}
    sink = None
    try:
        skip = scored_files(out) if out else set()
        sink = CsvSink(out) if out else None
        stdout = None if sink else csv.writer(sys.stdout)
        if stdout:
            stdout.writerow(RESULT_FIELDS)
        for row in scan(model, plan_scan(folder, args.recursive, skip)):
            counts["errors" if row["error"] else "scored"] += 1
            if sink:
                sink.add(row)
            else:
                stdout.writerow(csv_values(row))
                sys.stdout.flush()
            if row["error"]:
                print(f"cxr: {row['error']}", file=sys.stderr)
    except CXRError as exc:
        print(f"cxr: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        if sink:
            sink.close()
    summary = f"scanned {counts['scored']} image(s), {counts['errors']} error(s)"
    print(f"{summary}, {len(skip)} already in {out}" if out else summary, file=sys.stderr)
    return 0


def cmd_evaluate(args: argparse.Namespace, model: Model) -> int:
    from cxr_model.evaluate import evaluate

    try:
        text, metrics = evaluate(model, args.data, args.split, args.out)
    except CXRError as exc:
        print(f"cxr: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(text)
    if args.record:
        record_metrics(model.card, args.split, metrics)
        print(f"recorded the {args.split} metrics in {model.card.directory / CARD_NAME}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    try:
        from cxr_model.train import TrainConfig, train
    except ImportError as exc:
        print(f"cxr: training needs the 'train' extra ({exc})", file=sys.stderr)
        return EXIT_NO_MODEL
    cfg = TrainConfig(data=args.data, out=args.out, size=args.size, epochs=args.epochs,
                      batch_size=args.batch_size, seed=args.seed, limit=args.limit,
                      text_epochs=args.text_epochs)
    try:
        model_dir = train(cfg, resume=args.resume)
    except CXRError as exc:
        print(f"cxr: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"model written to {model_dir}")
    return 0


def run_selftest(model_dir: str | None) -> int:
    """Print the self-test summary line; exit 0, or 1 with the reason on stderr."""
    from cxr_model.selftest import selftest

    try:
        print(selftest(model_dir))
    except CXRError as exc:
        print(f"selftest FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cxr", description=__doc__.splitlines()[0]
                                     + " " + NOT_A_DEVICE)
    parser.add_argument("--model", help="model folder (default: the shipped model)")
    parser.add_argument("--backend", choices=("onnx", "torch"), default="onnx")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("predict", help="classify one X-ray, with an optional report")
    p.add_argument("image")
    p.add_argument("--report", help="report file or text (default: IMAGE's .txt if present)")
    p.add_argument("--heatmap", metavar="OUT.png", help="write a Grad-CAM overlay")
    p.add_argument("--target", choices=("abnormal", "normal"), default="abnormal")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    s = sub.add_parser("scan", help="score every image of a folder")
    s.add_argument("folder")
    s.add_argument("--out", metavar="FILE.csv", help="append rows here (default: stdout)")
    s.add_argument("--recursive", action="store_true")

    e = sub.add_parser("evaluate", help="metrics of the model on a split of a pairs CSV")
    e.add_argument("--data", required=True, help="CSV in the pairs.csv format")
    e.add_argument("--split", required=True)
    e.add_argument("--out", help="folder for metrics.json and plots")
    e.add_argument("--record", action="store_true",
                   help="store the figures in the model card (do this once, on test)")

    sub.add_parser("selftest", help="check the installation (model, checksums, samples)")
    dataset_build.add_parser(sub)

    t = sub.add_parser("train", help="train a model from a pairs CSV (needs the train extra)")
    t.add_argument("--data", required=True)
    t.add_argument("--out", required=True, help="run folder (checkpoints, model/)")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--text-epochs", type=int, default=40)
    t.add_argument("--size", type=int, default=224)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--limit", type=int, help="first N examples per split (smoke test)")
    t.add_argument("--resume", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "train":
        return cmd_train(args)
    if args.command == "selftest":
        return run_selftest(args.model)
    if args.command == "dataset":
        return dataset_build.run(args)
    try:
        model = load_model(args.model, backend=args.backend)
    except ModelError as exc:
        print(f"cxr: {exc}", file=sys.stderr)
        return EXIT_NO_MODEL
    handler = {"predict": cmd_predict, "scan": cmd_scan, "evaluate": cmd_evaluate}
    return handler[args.command](args, model)


if __name__ == "__main__":
    sys.exit(main())
