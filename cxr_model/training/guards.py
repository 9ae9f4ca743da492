"""Fitting the two out-of-distribution guards the exported graph computes (needs torch).

- Mahalanobis: squared distance of the pooled layer4 features to the training set
  (shrunk covariance), limit at the 99th percentile of `val`. It flags what is not a chest
  X-ray at all: photos, text, noise, rotated or inverted films.
- Population detector: a logistic regression on the channel means and standard deviations
  of all four ResNet stages (after Lee et al., NeurIPS 2018, who combine per-layer
  statistics), fitted with X-rays of another population (e.g. adults) against `val` and a
  low-resolution copy of `val`, so that it separates populations and not image sharpness.
  Its limit comes from cross-validated scores, not from the points it was fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from cxr_model.training.network import FusionNet, population_stats

MAHALANOBIS_QUANTILE = 0.99
#: Regularisation strengths tried for the detector (chosen by cross-validated log-loss).
POPULATION_CS = (0.01, 0.03, 0.1, 0.3, 1.0)
#: Largest share of val (and of its low-resolution copy) the detector may flag, by CV.
VAL_FLAGGED = 0.02
VAL_LOW_FLAGGED = 0.03
CV_FOLDS = 5


def statistics(
    net: FusionNet, images: torch.Tensor, batch_size: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Pooled layer4 features (N, 512) and population statistics (N, POPULATION_WIDTH)."""
    net.eval()
    pooled, stats = [], []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            stages = net.stage_maps(images[start : start + batch_size])
            pooled.append(stages[-1].mean(dim=(2, 3)).numpy())
            stats.append(population_stats(stages).numpy())
    return np.concatenate(pooled), np.concatenate(stats)


def fit_mahalanobis(net: FusionNet, pooled_train: np.ndarray, shrinkage: float = 0.1) -> None:
    """Set the Mahalanobis mean and whitener from training features (shrunk covariance)."""
    feats = torch.from_numpy(pooled_train).double()
    mean = feats.mean(dim=0)
    cov = torch.cov((feats - mean).T)
    cov = (1 - shrinkage) * cov + shrinkage * torch.eye(
        len(mean), dtype=cov.dtype
    ) * cov.diagonal().mean()
    whitener = torch.linalg.cholesky(torch.linalg.inv(cov))
    net.ood_mean.copy_(mean.float())
    net.ood_whitener.copy_(whitener.float())


def mahalanobis(net: FusionNet, pooled: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis distance of pooled features, as the exported graph computes it."""
    centred = (torch.from_numpy(pooled) - net.ood_mean) @ net.ood_whitener
    return (centred * centred).sum(dim=1).numpy()


@dataclass
class PopulationFit:
    """The detector folded into one weight vector and bias, its limit, and how it was chosen."""

    weight: np.ndarray
    bias: float
    threshold: float
    report: dict = field(default_factory=dict)

    def apply(self, net: FusionNet) -> None:
        """Write the detector into the network's buffers (exported with the graph)."""
        net.population_weight.copy_(torch.from_numpy(self.weight.astype(np.float32)))
        net.population_bias.fill_(self.bias)


def fit_population_detector(
    inside: np.ndarray, inside_low: np.ndarray, outside: np.ndarray, seed: int = 0
) -> PopulationFit:
    """Fit the detector: `inside` = val statistics, `inside_low` = the same images at low
    resolution, `outside` = the other population's statistics."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    x = np.concatenate([inside, inside_low, outside]).astype(np.float64)
    y = np.concatenate([np.zeros(len(inside) + len(inside_low)), np.ones(len(outside))])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = (x - mean) / scale
    folds = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=seed)
    best = None
    losses = {}
    for c in POPULATION_CS:
        clf = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
        cv = cross_val_predict(clf, z, y, cv=folds, method="decision_function")
        losses[c] = float(log_loss(y, 1.0 / (1.0 + np.exp(-cv))))
        if best is None or losses[c] < losses[best[0]]:
            best = (c, clf, cv)
    c, clf, cv = best
    n_in, n_low = len(inside), len(inside_low)
    cv_in, cv_low, cv_out = cv[:n_in], cv[n_in : n_in + n_low], cv[n_in + n_low :]
    threshold = float(
        max(np.quantile(cv_in, 1 - VAL_FLAGGED), np.quantile(cv_low, 1 - VAL_LOW_FLAGGED))
    )
    clf.fit(z, y)
    coef = clf.coef_[0] / scale
    bias = float(clf.intercept_[0] - (coef * mean).sum())
    report = {
        "C": c,
        "cv_log_loss": {str(k): v for k, v in losses.items()},
        "n_inside": n_in,
        "n_inside_low": n_low,
        "n_outside": len(outside),
        "cv_flagged": {
            "val": float((cv_in > threshold).mean()),
            "val_low_resolution": float((cv_low > threshold).mean()),
            "outside_fit": float((cv_out > threshold).mean()),
        },
    }
    return PopulationFit(coef, bias, threshold, report)
