"""Training the fusion network (needs torch).

Stage 1 trains the ResNet-18 image branch and the image-only head on augmented X-rays,
with a checkpoint each epoch, --resume, and early stopping on validation AUC.
Stage 2 freezes the image branch, caches its pooled features and trains the text encoder,
text-only head and fused head for each text mode; the mode with the better validation
fused AUC (then text AUC) ships. Calibration, thresholds and the guards are then fitted on
`val` (`cxr_model.training.refit`); `test` is never read here.

With `init` (`cxr train --init MODEL_DIR`) an existing model is adapted to a site's data:
its weights and tokenizer are the start, stage 1 fine-tunes the image branch, stage 2 runs
only when the site data has reports, and the card records the parent and the site's counts.
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cxr_model.imaging.preprocess import InputSpec
from cxr_model.inference.card import WEIGHTS_NAME, ModelCard, load_card
from cxr_model.progress import progress
from cxr_model.text.inputs import report_inputs, vocab_size
from cxr_model.text.tokenizer import Tokenizer, tokenizer_from_json
from cxr_model.training.dataset import Example, load_arrays, read_column, read_examples
from cxr_model.training.input_mapping import mapped, with_reference
from cxr_model.training.markers import add_markers
from cxr_model.training.metrics import roc_auc
from cxr_model.training.network import TEXT_MODES, FusionNet
from cxr_model.training.refit import MIN_REPORTED, refit
from cxr_model.training.sampling import balance_weights, epoch_order
from cxr_model.training.site_shift import site_shift
from cxr_model.training.torch_backend import load_network
from cxr_model.vocabulary import Label

T = TypeVar("T")


@dataclass
class TrainConfig:
    """Hyper-parameters; stored in the model card."""

    data: str
    out: str
    size: int | None = None  # input side (default: the parent's, else 224)
    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    patience: int = 4
    text_epochs: int = 40
    text_modes: tuple[str, ...] = TEXT_MODES
    max_len: int = 100
    seed: int = 0
    threads: int = 2
    limit: int | None = None  # use only the first N examples per split (smoke tests)
    init: str | None = None  # parent model folder to fine-tune (site adaptation)
    outside: str | None = None  # pairs CSV of another population for the population detector
    age_range: tuple[float, float] | None = None  # [min, max) years of the training patients
    quiet: bool = False  # no progress bar (it is off anyway when stderr is not a terminal)
    site_shift: bool = True  # site-shift augmentation (`site_shift.site_shift`)
    balance: str | None = None  # CSV column (e.g. view) whose values x label are drawn equally
    intensity: str | None = None  # input intensity mapping (default: the parent's, or window)
    population: dict | None = None  # merged into the card's population section
    name: str | None = None  # the card's model name


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def subset(examples: list[T], limit: int | None, seed: int) -> list[T]:
    """A seeded random subset of at most `limit` examples (all when limit is None)."""
    if limit is None or limit >= len(examples):
        return examples
    return random.Random(seed).sample(examples, limit)


def log(message: str) -> None:
    """Progress to stderr."""
    print(message, file=sys.stderr, flush=True)


def load_images(examples: list[Example], spec: InputSpec) -> torch.Tensor:
    """Preprocessed images (N,1,S,S) through the same function the app uses."""
    return torch.from_numpy(load_arrays(examples, spec))


def augment(
    batch: torch.Tensor, generator: torch.Generator, spec: InputSpec | None = None, site=True
) -> torch.Tensor:
    """With a spec: site shift (`site_shift.site_shift`, unless `site` is false) on the
    window-domain batch, then the spec's grey-level mapping; then side markers
    (`markers.add_markers`), a mild random affine (rotation +-7 deg, scale 0.9-1.1,
    shift +-6%) and contrast/brightness."""
    if spec is not None:
        batch = mapped(site_shift(batch, generator, spec) if site else batch, spec)
    batch = add_markers(batch, generator)
    n = batch.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator)

    angle = uniform(-7, 7) * math.pi / 180
    scale = uniform(0.9, 1.1)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos, -sin, uniform(-0.06, 0.06)], 1),
            torch.stack([sin, cos, uniform(-0.06, 0.06)], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    fill = batch.amin(dim=(1, 2, 3), keepdim=True)
    moved = F.grid_sample(batch - fill, grid, align_corners=False, padding_mode="zeros") + fill
    contrast = uniform(0.85, 1.15).view(n, 1, 1, 1)
    brightness = uniform(-0.2, 0.2).view(n, 1, 1, 1)
    return moved * contrast + brightness


def positive_weight(labels: torch.Tensor) -> torch.Tensor:
    """BCE pos_weight that balances the classes."""
    positives = labels.sum().clamp(min=1)
    return (len(labels) - positives).clamp(min=1) / positives


def image_logits(net: FusionNet, images: torch.Tensor, batch_size: int = 128):
    """(image logits, pooled features) for many images, eval mode, no augmentation."""
    net.eval()
    logits, features = [], []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            pooled = net.feature_maps(images[start : start + batch_size]).mean(dim=(2, 3))
            features.append(pooled)
            logits.append(net.image_head(pooled)[:, 0])
    return torch.cat(logits), torch.cat(features)


def train_image_branch(
    net: FusionNet,
    cfg: TrainConfig,
    train_x,
    train_y,
    val_x,
    val_y,
    run: Path,
    resume: bool,
    spec: InputSpec | None = None,
    weights: torch.Tensor | None = None,
) -> dict:
    """Stage 1; returns the history. Keeps the best-val-AUC weights in `net`. `train_x` is in
    the window domain, mapped per batch as `spec` says (after the site shift unless
    `cfg.site_shift` is off); `weights` draws examples with these weights."""
    params = list(net.backbone.parameters()) + list(net.image_head.parameters())
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = math.ceil(len(train_x) / cfg.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=cfg.lr, total_steps=cfg.epochs * steps
    )
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=positive_weight(train_y))
    state = {"epoch": 0, "best_auc": -1.0, "bad_epochs": 0, "history": []}
    checkpoint = run / "checkpoint.pt"
    if resume and checkpoint.is_file():
        saved = torch.load(checkpoint, weights_only=True)
        net.load_state_dict(saved["net"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        scheduler.total_steps = cfg.epochs * steps  # --epochs may extend a finished run
        state = json.loads(saved["state"])
        log(f"resumed after epoch {state['epoch']}")
    generator = torch.Generator().manual_seed(cfg.seed)
    for _ in range(state["epoch"]):  # replay the shuffles so a resumed run is identical
        epoch_order(len(train_x), generator, weights)
    for epoch in range(state["epoch"] + 1, cfg.epochs + 1):
        if state["bad_epochs"] >= cfg.patience:
            log(f"early stop: no val AUC gain for {cfg.patience} epochs")
            break
        net.train()
        order = epoch_order(len(train_x), generator, weights)
        started, total = time.time(), 0.0
        for step in progress(
            range(steps),
            total=steps,
            desc=f"epoch {epoch}/{cfg.epochs}",
            unit="batch",
            quiet=cfg.quiet,
        ):
            index = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
            x = augment(train_x[index], generator, spec, cfg.site_shift)
            logits = net.image_head(net.feature_maps(x).mean(dim=(2, 3)))[:, 0]
            loss = loss_fn(logits, train_y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item()
        val_logits, _ = image_logits(net, val_x)
        auc = roc_auc(val_y.numpy(), val_logits.numpy())
        record = {
            "epoch": epoch,
            "loss": total / steps,
            "val_auc": auc,
            "seconds": time.time() - started,
        }
        state["history"].append(record)
        log(
            f"epoch {epoch}: train loss {record['loss']:.4f}  val AUC {auc:.4f}  "
            f"({record['seconds']:.0f}s)"
        )
        if auc > state["best_auc"] or not (run / "best.pt").is_file():
            state["best_auc"], state["bad_epochs"] = auc, 0
            torch.save(net.state_dict(), run / "best.pt")
        else:
            state["bad_epochs"] += 1
        state["epoch"] = epoch
        torch.save(
            {
                "net": net.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "state": json.dumps(state),
            },
            checkpoint,
        )
    net.load_state_dict(torch.load(run / "best.pt", weights_only=True))
    return state


def train_text_heads(
    net: FusionNet,
    cfg: TrainConfig,
    feats,
    text,
    has,
    labels,
    val_feats,
    val_text,
    val_has,
    val_labels,
) -> dict:
    """Stage 2: text encoder, text head and fused head on frozen image features."""
    params = (
        list(net.text_encoder.parameters())
        + list(net.text_head.parameters())
        + list(net.fused_head.parameters())
    )
    optimizer = torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-4)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=positive_weight(labels))
    generator = torch.Generator().manual_seed(cfg.seed + 1)
    best = {"auc": -1.0, "text_auc": -1.0, "epoch": 0}
    best_state = None

    def heads(f, t, h):
        encoded = net.text_encoder(t) * h
        fused = net.fused_head(torch.cat([f, encoded], dim=1))[:, 0]
        return fused, net.text_head(encoded)[:, 0]

    for epoch in range(1, cfg.text_epochs + 1):
        net.train()
        order = torch.randperm(len(feats), generator=generator)
        for start in range(0, len(order), cfg.batch_size):
            index = order[start : start + cfg.batch_size]
            fused, text_logit = heads(feats[index], text[index], has[index])
            loss = loss_fn(fused, labels[index]) + loss_fn(text_logit, labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        net.eval()
        with torch.inference_mode():
            fused, text_logit = heads(val_feats, val_text, val_has)
        score = (
            roc_auc(val_labels.numpy(), fused.numpy()),
            roc_auc(val_labels.numpy(), text_logit.numpy()),
        )
        if score > (best["auc"], best["text_auc"]):
            best = {"auc": score[0], "text_auc": score[1], "epoch": epoch}
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(best_state)
    return best


def population_section(cfg: TrainConfig, parent: dict | None) -> dict:
    """The card's intended population: the parent's (adapted: say to what) or the data's."""
    site = Path(cfg.data).name
    ages = (
        None if cfg.age_range is None else f"{cfg.age_range[0]:g} to {cfg.age_range[1] - 1:g} years"
    )
    if parent is not None:
        first = {k: v for k, v in parent.get("population", {}).items() if k != "age_years"}
        section = {
            "summary": f"the site data {site}"
            + (f" (ages {ages})" if ages else "")
            + ", fine-tuned from a model first trained on "
            + first.get("summary", "another population"),
            "ages": f"site data: {ages}" if ages else "site data: not given (no age guard)",
            "adapted_to": f"{site} (site data used for fine-tuning)",
            "first_trained_on": first,
        }
    else:
        section = {"summary": f"the patients of {site}" + (f" (ages {ages})" if ages else "")}
    section.update(cfg.population or {})
    if cfg.age_range is not None:
        section["age_years"] = list(cfg.age_range)
    elif parent is not None:
        log(
            "no --age-range given: the adapted model has no age guard (the parent's ages "
            "no longer describe it)"
        )
    return section


def lineage(parent: ModelCard) -> dict:
    """Who the adapted model came from: the parent's name and the SHA-256 of its files."""
    files = parent.data.get("files", {})
    return {
        "name": parent.data.get("name", "unnamed model"),
        "sha256": files.get(WEIGHTS_NAME),
        "files": files,
    }


def split_counts(examples: list[Example]) -> dict:
    """Normal / abnormal / with-report counts of a split."""
    labels = [e.label for e in examples]
    return {
        "n": len(examples),
        Label.ABNORMAL: sum(labels),
        Label.NORMAL: len(labels) - sum(labels),
        "with_report": sum(1 for e in examples if e.report.strip()),
    }


def train(cfg: TrainConfig, resume: bool = False) -> Path:
    """Run both stages (or fine-tune `cfg.init`), refit on val, write cfg.out/model."""
    torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    run = Path(cfg.out)
    run.mkdir(parents=True, exist_ok=True)
    device_note = "CUDA" if torch.cuda.is_available() else f"CPU ({cfg.threads} threads)"
    parent = load_card(cfg.init) if cfg.init else None
    spec = parent.input_spec if parent else InputSpec(size=cfg.size or InputSpec.size)
    if cfg.size and cfg.size != spec.size:  # a fine-tune at another size (it is convolutional)
        spec = replace(spec, size=cfg.size)
    if cfg.intensity is not None and cfg.intensity != spec.intensity:
        spec = replace(spec, intensity=cfg.intensity, reference=())
    train_ex = subset(read_examples(cfg.data, "train"), cfg.limit, cfg.seed)
    val_ex = subset(read_examples(cfg.data, "val"), cfg.limit, cfg.seed)
    started = time.time()
    log(f"loading {len(train_ex)} train and {len(val_ex)} val images")
    window = replace(spec, intensity="window", reference=())
    train_x, val_x = load_images(train_ex, window), load_images(val_ex, window)
    spec = with_reference(spec, train_x)
    val_x = mapped(val_x, spec)
    train_y = torch.tensor([e.label for e in train_ex], dtype=torch.float32)
    val_y = torch.tensor([e.label for e in val_ex], dtype=torch.float32)

    if parent is not None:
        tokenizer = tokenizer_from_json(parent.data["tokenizer"])
        base = load_network(parent)
        modes: tuple[str, ...] = (base.text_mode,)
    else:
        tokenizer = Tokenizer()
        tokenizer.fit_on_texts([e.report for e in train_ex])
        base = FusionNet("bag", vocab_size(tokenizer), cfg.max_len)
        modes = cfg.text_modes
    weights = None
    if cfg.balance:
        groups = read_column(cfg.data, "train", cfg.balance)
        weights = balance_weights(subset(groups, cfg.limit, cfg.seed), train_y)
    stage1 = train_image_branch(
        base, cfg, train_x, train_y, val_x, val_y, run, resume, spec, weights
    )
    train_x = mapped(train_x, spec)  # from here on, as the app shows images to the network
    _, train_feats = image_logits(base, train_x)
    _, val_feats = image_logits(base, val_x)

    counts = {"train": split_counts(train_ex), "val": split_counts(val_ex)}
    reported = counts["train"]["with_report"]
    comparison, candidates = {}, {}
    if parent is not None and reported < MIN_REPORTED:
        log(
            f"site data has {reported} reports in train: the text branch and fused head are "
            "kept from the parent"
        )
        chosen, net = base.text_mode, base
    else:
        for mode in modes:
            net = FusionNet(mode, vocab_size(tokenizer), cfg.max_len)
            net.load_state_dict(
                {
                    k: v
                    for k, v in base.state_dict().items()
                    if not k.startswith(("text_encoder", "fused_head"))
                },
                strict=False,
            )
            seed_everything(cfg.seed)
            tr_text, tr_has = report_inputs(
                tokenizer, [e.report for e in train_ex], mode, cfg.max_len
            )
            va_text, va_has = report_inputs(
                tokenizer, [e.report for e in val_ex], mode, cfg.max_len
            )
            best = train_text_heads(
                net,
                cfg,
                train_feats,
                torch.from_numpy(tr_text),
                torch.from_numpy(tr_has),
                train_y,
                val_feats,
                torch.from_numpy(va_text),
                torch.from_numpy(va_has),
                val_y,
            )
            comparison[mode] = {
                "val_fused_auc": best["auc"],
                "val_text_auc": best["text_auc"],
                "best_epoch": best["epoch"],
            }
            candidates[mode] = net
            log(
                f"text mode {mode}: val fused AUC {best['auc']:.4f}, "
                f"text AUC {best['text_auc']:.4f}"
            )
        chosen = max(
            comparison,
            key=lambda m: (comparison[m]["val_fused_auc"], comparison[m]["val_text_auc"]),
        )
        net = candidates[chosen]
    card = {
        **(parent.data if parent else {}),
        "population": population_section(cfg, parent.data if parent else None),
        "training": {
            "data": str(cfg.data),
            "n_train": len(train_ex),
            "n_val": len(val_ex),
            "counts": counts,
            "hardware": device_note,
            "minutes": round((time.time() - started) / 60, 1),
            "config": {
                k: v
                for k, v in vars(cfg).items()
                if k not in ("data", "out", "quiet", "init", "outside", "population", "name")
            },
            "stage1_history": stage1["history"],
        },
    }
    if comparison:
        card["text_mode_comparison"] = comparison
    if parent is not None:
        card["parent"] = lineage(parent)
        card["name"] = f"{parent.data.get('name', 'model')} adapted to {Path(cfg.data).name}"
        # the parent's own measurements and history do not describe the adapted model
        for key in (
            "metrics",
            "intended_use",
            "data_description",
            "procedure",
            "heatmap",
            "refitted_from",
            "refit",
            "int8",
        ):
            card.pop(key, None)
    if cfg.name:
        card["name"] = cfg.name
    log(f"refitting calibration and guards on val ({chosen} text mode)")
    return refit(
        net,
        tokenizer,
        spec,
        cfg.data,
        run / "model",
        base=card,
        max_len=cfg.max_len,
        outside=cfg.outside,
        seed=cfg.seed,
        train_images=train_x.numpy(),
        val=(val_ex, val_x.numpy()),
    )
