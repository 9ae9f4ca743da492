"""Turning logits into honest probabilities, chosen on `val`: a bounded Platt fit per head,
the decision threshold, and the margin around it that the app reads as "uncertain"."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cxr_model.training.metrics import best_threshold, expected_calibration_error, summary

#: Floors tried, largest first: no head may say less than `floor` or more than 1 - `floor`.
FLOORS = (0.05, 0.02, 0.01, 0.005, 0.0)
#: Largest val ECE a floor may cost any head (the issue's limit is 0.03 on val and test).
MAX_VAL_ECE = 0.025
#: The uncertainty band holds the val predictions nearest the threshold, this share of them,
#: and is at most MAX_MARGIN wide on each side.
BAND_SHARE = 0.05
MAX_MARGIN = 0.3


def fit_platt(
    logits: np.ndarray, labels: np.ndarray, floor: float = 0.0, steps: int = 500
) -> tuple[float, float]:
    """(T, b) of P = floor + (1 - 2 floor) sigmoid(logit / T + b), by log-loss on val."""
    x = torch.tensor(logits, dtype=torch.float64)
    y = torch.tensor(labels, dtype=torch.float64)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t, bias], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        p = floor + (1.0 - 2.0 * floor) * torch.sigmoid(x / log_t.exp() + bias)
        loss = F.binary_cross_entropy(p.clamp(1e-12, 1 - 1e-12), y)
        loss.backward()
        return loss.detach()

    optimizer.step(closure)
    return float(log_t.detach().exp()), float(bias.detach())


def calibrated(logits: np.ndarray, temperature: float, bias: float, floor: float) -> np.ndarray:
    """The probability the predictor computes from the card's calibration."""
    z = np.asarray(logits, dtype=np.float64) / temperature + bias
    return floor + (1.0 - 2.0 * floor) / (1.0 + np.exp(-z))


def uncertainty_margin(probs: np.ndarray, threshold: float) -> float:
    """Half-width of the band around the threshold that holds the BAND_SHARE of val
    predictions nearest to it (rounded up to 0.01, at most MAX_MARGIN)."""
    needed = float(np.quantile(np.abs(probs - threshold), BAND_SHARE))
    return float(min(MAX_MARGIN, np.ceil(needed * 100 - 1e-9) / 100))


def band_figures(probs: np.ndarray, labels: np.ndarray, threshold: float, margin: float) -> dict:
    """The band's margin, the share of val inside it and val accuracy inside and outside."""
    inside = np.abs(probs - threshold) < margin
    correct = (probs >= threshold).astype(int) == labels

    def accuracy(mask: np.ndarray) -> float | None:
        return float(correct[mask].mean()) if mask.any() else None

    return {
        "margin": margin,
        "val_uncertain": float(inside.mean()),
        "val_accuracy_inside": accuracy(inside),
        "val_accuracy_outside": accuracy(~inside),
    }


def calibrate_heads(heads: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    """Calibration, thresholds, uncertainty margins and val metrics of each head, from its
    val (logits, labels).

    One floor for all heads: the largest in FLOORS that keeps every head's val ECE within
    MAX_VAL_ECE, so no head claims a certainty that val cannot support.
    """
    for floor in FLOORS:
        fits = {head: fit_platt(z, y, floor) for head, (z, y) in heads.items()}
        probs = {head: calibrated(z, *fits[head], floor) for head, (z, _) in heads.items()}
        if all(expected_calibration_error(heads[h][1], p) <= MAX_VAL_ECE for h, p in probs.items()):
            break
    out: dict = {"calibration": {}, "thresholds": {}, "uncertainty": {}, "metrics": {}}
    for head, p in probs.items():
        labels = heads[head][1]
        temperature, bias = fits[head]
        threshold = best_threshold(labels, p)
        out["calibration"][head] = {"temperature": temperature, "bias": bias, "floor": floor}
        out["thresholds"][head] = threshold
        out["uncertainty"][head] = band_figures(
            p, labels, threshold, uncertainty_margin(p, threshold)
        )
        out["metrics"][head] = summary(labels, p, threshold)
    return out
