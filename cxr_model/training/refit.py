"""Everything chosen on `val` after the weights are trained, and the model folder it writes:
calibration, thresholds, uncertainty margins, both out-of-distribution guards.

Used at the end of `cxr train` (also with `--init`) and by `cxr refit`, which refits an
existing model folder (e.g. to add a population detector) without touching its weights.
`test` is never read here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from cxr_model.errors import DataError
from cxr_model.imaging.preprocess import InputSpec, low_resolution
from cxr_model.inference.card import HEADS
from cxr_model.inference.layout import fit_layout_guard
from cxr_model.text.inputs import report_inputs, vocab_size
from cxr_model.text.tokenizer import Tokenizer
from cxr_model.training.calibration import calibrate_heads
from cxr_model.training.dataset import Example, load_arrays, read_examples
from cxr_model.training.export import save_model
from cxr_model.training.guards import (
    MAHALANOBIS_QUANTILE,
    fit_mahalanobis,
    fit_population_detector,
    mahalanobis,
    statistics,
)
from cxr_model.training.network import FusionNet

#: Fewest val studies with a report for the fused and text heads to be refitted.
MIN_REPORTED = 20
MAHALANOBIS_METHOD = (
    "squared Mahalanobis distance of pooled layer4 ResNet features to the "
    "training set (shrunk covariance); limit at the 99th percentile of val"
)
POPULATION_METHOD = (
    "logistic regression on the channel means and standard deviations of the "
    "four ResNet stages (after Lee et al., NeurIPS 2018), fitted with the "
    "outside population's train split against val and val shrunk to 64 px and "
    "enlarged again; regularisation by 5-fold CV log-loss; limit from CV "
    "scores: at most 2% of val and 3% of the 64 px val flagged"
)


def log(message: str) -> None:
    """Progress to stderr."""
    print(message, file=sys.stderr, flush=True)


def val_logits(
    net: FusionNet,
    tokenizer: Tokenizer,
    images: np.ndarray,
    reports: list[str],
    max_len: int,
    batch_size: int = 64,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Logits of the three heads on val, and the has-report mask (N,)."""
    text, has = report_inputs(tokenizer, reports, net.text_mode, max_len)
    logits: dict[str, list] = {head: [] for head in HEADS}
    net.eval()
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            part = slice(start, start + batch_size)
            fused, image, text_logit, *_ = net(
                torch.from_numpy(images[part]),
                torch.from_numpy(text[part]),
                torch.from_numpy(has[part]),
            )
            for head, value in zip(HEADS, (fused, image, text_logit), strict=True):
                logits[head].append(value[:, 0].numpy())
    return {head: np.concatenate(v) for head, v in logits.items()}, has[:, 0] > 0


def calibrate(
    net: FusionNet,
    tokenizer: Tokenizer,
    max_len: int,
    images: np.ndarray,
    examples: list,
    base: dict,
) -> dict:
    """Calibration, thresholds, margins and val metrics; heads without enough reported val
    studies keep the base card's values (say so in `inherited`)."""
    labels = np.array([e.label for e in examples])
    logits, has = val_logits(net, tokenizer, images, [e.report for e in examples], max_len)
    heads = {"image": (logits["image"], labels)}
    if has.sum() >= MIN_REPORTED and len(set(labels[has])) == 2:
        heads |= {h: (logits[h][has], labels[has]) for h in ("fused", "text")}
    fitted = calibrate_heads(heads)
    inherited = [h for h in HEADS if h not in heads]
    for section in ("calibration", "thresholds", "uncertainty"):
        for head in inherited:
            if head not in base.get(section, {}):
                raise DataError(
                    f"val has fewer than {MIN_REPORTED} studies with a report and "
                    f"the parent model has no {head} {section} to keep"
                )
            fitted[section][head] = base[section][head]
    fitted["inherited"] = inherited
    return fitted


def fit_guards(
    net: FusionNet,
    train_images: np.ndarray,
    val_images: np.ndarray,
    outside: str | Path | None,
    spec: InputSpec,
    seed: int,
) -> dict:
    """Fit both guards into the network; returns the card's `ood` section."""
    log("guards: statistics of train and val")
    train_pooled, _ = statistics(net, torch.from_numpy(train_images))
    fit_mahalanobis(net, train_pooled)
    val_pooled, val_stats = statistics(net, torch.from_numpy(val_images))
    scores = mahalanobis(net, val_pooled)
    limit = float(np.quantile(scores, MAHALANOBIS_QUANTILE))
    section: dict = {
        "method": MAHALANOBIS_METHOD,
        "threshold": limit,
        "val_flagged": float((scores > limit).mean()),
    }
    if spec.intensity != "window":  # the grey levels no longer tell a photograph apart
        section["layout"] = fit_layout_guard(train_images, val_images)
    net.population_weight.zero_()
    net.population_bias.zero_()
    if outside is None:
        return section
    log(f"guards: population detector with {outside}")
    low = np.stack([low_resolution(a) for a in val_images])
    _, low_stats = statistics(net, torch.from_numpy(low))
    outside_train = read_examples(outside, "train")
    _, outside_stats = statistics(net, torch.from_numpy(load_arrays(outside_train, spec)))
    fit = fit_population_detector(val_stats, low_stats, outside_stats, seed=seed)
    fit.apply(net)
    population = {
        "method": POPULATION_METHOD,
        "threshold": fit.threshold,
        "fitted_with": str(outside),
        "fit": fit.report,
    }
    try:
        outside_val = read_examples(outside, "val")
    except DataError:
        outside_val = []
    if outside_val:
        _, stats = statistics(net, torch.from_numpy(load_arrays(outside_val, spec)))
        score = stats @ fit.weight + fit.bias
        population["outside_val_flagged"] = float((score > fit.threshold).mean())
        population["n_outside_val"] = len(outside_val)
    section["population"] = population
    return section


def refit(
    net: FusionNet,
    tokenizer: Tokenizer,
    spec: InputSpec,
    data: str | Path,
    out_dir: Path,
    *,
    base: dict,
    max_len: int,
    outside: str | Path | None = None,
    seed: int = 0,
    train_images: np.ndarray | None = None,
    val: tuple[list[Example], np.ndarray] | None = None,
) -> Path:
    """Fit guards and calibration on `data`'s train/val splits, write the model folder.

    `train_images` and `val` (examples, images) may be given when already loaded.
    `base` is the card so far (name, population, lineage, training history...); the refitted
    sections replace its own, and figures measured on `test` are dropped (they no longer
    describe this model: measure them again with `cxr evaluate --record`).
    """
    if train_images is None:
        log("refit: reading train and val images")
        train_images = load_arrays(read_examples(data, "train"), spec)
    if val is None:
        val_examples = read_examples(data, "val")
        val = val_examples, load_arrays(val_examples, spec)
    val_examples, val_images = val
    ood = fit_guards(net, train_images, val_images, outside, spec, seed)
    fitted = calibrate(net, tokenizer, max_len, val_images, val_examples, base)
    keep = {
        k: v
        for k, v in base.items()
        if k
        not in (
            "files",
            "metrics",
            "calibration",
            "thresholds",
            "uncertainty",
            "ood",
            "architecture",
            "input",
            "tokenizer",
            "classes",
        )
    }
    extra = {
        **keep,
        "calibration": fitted["calibration"],
        "uncertainty": {
            **fitted["uncertainty"],
            "rule": "the band around the threshold that holds the 5% of "
            "val predictions nearest to it, at most 0.3 wide",
        },
        "ood": ood,
        "metrics": {"val": fitted["metrics"]},
    }
    if fitted["inherited"]:
        extra["inherited_from_parent"] = fitted["inherited"]
    return save_model(
        net,
        tokenizer,
        spec,
        out_dir,
        vocab_size=vocab_size(tokenizer),
        max_len=max_len,
        thresholds=fitted["thresholds"],
        extra=extra,
    ).parent
