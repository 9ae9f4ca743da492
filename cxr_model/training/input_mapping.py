"""The card's per-image grey-level mapping (`preprocess.map_intensity`) on training batches.

Training images are loaded in the display window's linear values, so the site-shift
augmentation acts on what a detector and its export produce, and the card's mapping comes
after it, as it does for every image the app reads.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from cxr_model.imaging.preprocess import InputSpec, map_intensity, reference_levels


def _units(batch: torch.Tensor, spec: InputSpec) -> np.ndarray:
    return (batch * spec.std + spec.mean).clamp(0, 1).numpy()


def mapped(batch: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """A normalised batch (B, 1, S, S) of window-domain images, each mapped as `spec` says."""
    if spec.intensity == "window":
        return batch
    units = np.stack([map_intensity(unit[0], spec)[None] for unit in _units(batch, spec)])
    return (torch.from_numpy(units).to(batch.dtype) - spec.mean) / spec.std


def with_reference(spec: InputSpec, images: torch.Tensor) -> InputSpec:
    """`spec` with a "match" reference fitted on these window-domain training images when it
    has none (a parent's reference is kept, so an adapted model reads images as it did)."""
    if spec.intensity != "match" or spec.reference:
        return spec
    return replace(spec, reference=reference_levels([u[0] for u in _units(images, spec)]))
