"""The layout guard: how far an input's coarse spatial layout lies from the training X-rays'.

The network pools its features over the whole image, so the Mahalanobis guard sees what is in
an image more than where. With a grey-level mapping that gives every image the same histogram
("equalise", "match"), a photograph or a film turned on its side can pass it. An 8 x 8 grid of
block means of the network input (the brightness of the mediastinum, the lungs, the
diaphragm: where each sits) is compared to the training images' by squared Mahalanobis
distance (shrunk covariance), with a limit at the 99th percentile of `val`; numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxr_model.imaging.preprocess import block_mean, resize_float

#: Cells per side of the layout grid.
GRID = 8
#: Share of `val` inside the limit.
LAYOUT_QUANTILE = 0.99
#: Weight of the scaled identity mixed into the covariance.
SHRINKAGE = 0.1
METHOD = (
    f"squared Mahalanobis distance of the network input's {GRID}x{GRID} block means to the "
    f"training set (shrunk covariance); limit at the {LAYOUT_QUANTILE:.0%} quantile of val"
)


def layout_vectors(arrays: np.ndarray) -> np.ndarray:
    """(N, GRID * GRID) block means of network inputs (N, 1, S, S)."""
    out = []
    for array in arrays:
        image = array[0]
        factor = image.shape[0] // GRID
        cells = block_mean(image, factor) if factor > 1 else image
        if cells.shape != (GRID, GRID):
            cells = resize_float(cells, GRID, GRID)
        out.append(np.asarray(cells, dtype=np.float64).ravel())
    return np.stack(out)


@dataclass(frozen=True)
class LayoutGuard:
    """The card's `ood.layout` section: mean, whitener and limit."""

    mean: np.ndarray
    whitener: np.ndarray
    threshold: float

    @classmethod
    def from_card(cls, section: dict) -> LayoutGuard:
        return cls(
            np.asarray(section["mean"], dtype=np.float64),
            np.asarray(section["whitener"], dtype=np.float64),
            float(section["threshold"]),
        )

    def distances(self, arrays: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of each input's layout."""
        centred = (layout_vectors(arrays) - self.mean) @ self.whitener
        return (centred * centred).sum(axis=1)


def fit_layout_guard(train: np.ndarray, val: np.ndarray) -> dict:
    """The card's `ood.layout` section fitted on training inputs, its limit on `val`'s."""
    vectors = layout_vectors(train)
    mean = vectors.mean(axis=0)
    cov = np.cov((vectors - mean).T)
    cov = (1 - SHRINKAGE) * cov + SHRINKAGE * np.eye(len(mean)) * cov.diagonal().mean()
    whitener = np.linalg.cholesky(np.linalg.inv(cov))
    section = {
        "method": METHOD,
        "mean": [round(float(v), 6) for v in mean],
        "whitener": [[round(float(v), 6) for v in row] for row in whitener],
    }
    scores = LayoutGuard.from_card({**section, "threshold": 0.0}).distances(val)
    limit = float(np.quantile(scores, LAYOUT_QUANTILE))
    return {**section, "threshold": limit, "val_flagged": float((scores > limit).mean())}
