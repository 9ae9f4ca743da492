"""Seed-style baseline: what a user would write with torch eager, one image at a time.

PIL open + convert('L') + resize 224 + normalise, `FusionNet` forward in torch, Grad-CAM
with forward/backward hooks on `backbone.layer4` (weights = mean gradient, ReLU, upsample
to the image size). Weights come from the model folder's weights.safetensors (random init
if it has none). Only the plain formats PIL opens (no DICOM).

Worker: `python -m benchmarks.baseline single --model DIR --image KIND=PATH ... --json-out F`
or `python -m benchmarks.baseline scan --model DIR --folder F --csv OUT --json-out F`.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from benchmarks.common import THREADS, peak_rss_mb, status_mb, time_op, write_json
from cxr_model.text.inputs import report_inputs
from cxr_model.text.tokenizer import tokenizer_from_json
from cxr_model.training.network import FusionNet

SIZE = 224
MEAN = 0.5
STD = 0.25


class SeedModel:
    """FusionNet in eval mode plus the card's tokenizer."""

    def __init__(self, model_dir: Path) -> None:
        torch.set_num_threads(THREADS)
        card = json.loads((model_dir / "model_card.json").read_text(encoding="utf-8"))
        arch = card["architecture"]
        self.net = FusionNet(
            arch["text_mode"],
            arch["vocab_size"],
            arch["max_len"],
            arch.get("text_hidden", 128),
            arch.get("text_dim", 64),
        )
        weights = model_dir / "weights.safetensors"
        self.weights = "random init"
        if weights.is_file():
            from safetensors.torch import load_file

            self.net.load_state_dict(load_file(str(weights)))
            self.weights = weights.name
        self.net.eval()
        self.tokenizer = tokenizer_from_json(card["tokenizer"])
        self.text_mode = arch["text_mode"]
        self.max_len = arch["max_len"]
        self.activations: torch.Tensor | None = None
        self.gradients: torch.Tensor | None = None
        layer4 = self.net.backbone.layer4
        layer4.register_forward_hook(self._save_activations)
        layer4.register_full_backward_hook(self._save_gradients)

    def _save_activations(self, module, inputs, output) -> None:
        self.activations = output

    def _save_gradients(self, module, grad_input, grad_output) -> None:
        self.gradients = grad_output[0]

    def load_image(self, path: Path) -> tuple[torch.Tensor, tuple[int, int]]:
        """(1,1,224,224) normalised tensor and the original (width, height)."""
        image = Image.open(path).convert("L")
        size = image.size
        image = image.resize((SIZE, SIZE))
        array = np.asarray(image, dtype=np.float32) / 255.0
        array = (array - MEAN) / STD
        return torch.from_numpy(array)[None, None], size

    def text(self, report: str | None) -> tuple[torch.Tensor, torch.Tensor]:
        vectors, has_report = report_inputs(self.tokenizer, [report], self.text_mode, self.max_len)
        return torch.from_numpy(vectors), torch.from_numpy(has_report)

    def predict(self, path: Path, report: str | None) -> float:
        """P(abnormal) from the fused logit (no calibration, like the seed)."""
        image, _ = self.load_image(path)
        text, has_report = self.text(report)
        with torch.no_grad():
            fused_logit = self.net(image, text, has_report)[0]
        return torch.sigmoid(fused_logit)[0, 0].item()

    def predict_and_cam(self, path: Path, report: str | None) -> tuple[float, np.ndarray]:
        """Probability and Grad-CAM (H, W) in [0, 1] at the image's original size."""
        image, (width, height) = self.load_image(path)
        text, has_report = self.text(report)
        self.net.zero_grad()
        fused_logit = self.net(image, text, has_report)[0]
        fused_logit[0, 0].backward()
        weights = self.gradients.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * self.activations).sum(dim=1, keepdim=True))
        cam = F.interpolate(cam, size=(height, width), mode="bilinear", align_corners=False)
        cam = cam[0, 0].detach().numpy()
        cam = cam - cam.min()
        cam = cam / (cam.max() + 1e-7)
        return torch.sigmoid(fused_logit)[0, 0].item(), cam


def read_text(path: Path) -> str | None:
    """The report beside an image, or None."""
    return path.read_text(encoding="utf-8") if path.is_file() else None


def measure_single(
    model_dir: Path, images: dict[str, Path], warmup: int, repeats: int
) -> dict[str, Any]:
    """predict (no grad) and predict + Grad-CAM, each from the file, report read from disk."""
    start = time.perf_counter()
    model = SeedModel(model_dir)
    load_s = time.perf_counter() - start
    results: dict[str, Any] = {}
    for kind, path in images.items():
        report_file = path.with_suffix(".txt")
        ops = {
            "predict_report": lambda p=path, r=report_file: model.predict(p, read_text(r)),
            "end_to_end": lambda p=path, r=report_file: model.predict_and_cam(p, read_text(r)),
        }
        results[kind] = {name: time_op(fn, warmup, repeats) for name, fn in ops.items()}
    return {
        "load_s": load_s,
        "weights": model.weights,
        "images": results,
        "peak_rss_mb": peak_rss_mb(),
    }


def measure_scan(model_dir: Path, folder: Path, csv_path: Path) -> dict[str, Any]:
    """Score every image of a folder one at a time into a CSV (no heatmaps, like a scan)."""
    start = time.perf_counter()
    model = SeedModel(model_dir)
    load_s = time.perf_counter() - start
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpeg", ".jpg", ".png"))
    start = time.perf_counter()
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "probability", "label"])
        for path in files:
            probability = model.predict(path, read_text(path.with_suffix(".txt")))
            label = "abnormal" if probability >= 0.5 else "normal"
            writer.writerow([path.name, f"{probability:.6f}", label])
    scan_s = time.perf_counter() - start
    return {
        "images": len(files),
        "errors": 0,
        "load_s": load_s,
        "scan_s": scan_s,
        "images_per_s": len(files) / scan_s if scan_s > 0 else None,
        "weights": model.weights,
        "peak_rss_mb": peak_rss_mb(),
        "vmhwm_mb": status_mb("VmHWM"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("single", "scan"))
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--image", action="append", default=[], metavar="KIND=PATH")
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json-out", type=Path, required=True)
    args = parser.parse_args()
    if args.mode == "single":
        images = {k: Path(p) for k, p in (item.split("=", 1) for item in args.image)}
        result = measure_single(args.model, images, args.warmup, args.repeats)
    else:
        if args.folder is None or args.csv is None:
            parser.error("scan needs --folder and --csv")
        result = measure_scan(args.model, args.folder, args.csv)
    write_json(args.json_out, result)


if __name__ == "__main__":
    main()
