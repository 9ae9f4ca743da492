"""Site-shift augmentation: what another hospital's detector, processing and export do to an
X-ray, applied at random to training batches so the image branch does not learn one site's look.

Each transform works on one image in the display domain ([0, 1], 0 = black) at the model's
input size and is drawn per image with its own probability: exposure and processing (gamma,
contrast, histogram equalisation), acquisition (resolution of the source from about 500 px to
2k px, blur, noise), export (JPEG re-encoding) and framing (borders and collimation). Batches
arrive normalised with the card's mean/std and leave normalised the same way. Every draw comes
from the caller's `torch.Generator`, so a seeded run is repeatable.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from cxr_model.imaging import preprocess
from cxr_model.imaging.preprocess import InputSpec

Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]

#: Source sides simulated by `resolution` (the model input is made from a source this wide).
SOURCE_SIDES = (500, 2048)
#: Source side taken as the reference: smaller sources lose detail, larger ones are sharper.
REFERENCE_SIDE = 1024


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand(1, generator=generator))


def _coin(generator: torch.Generator, p: float) -> bool:
    return float(torch.rand(1, generator=generator)) < p


def _signed(generator: torch.Generator, low: float, high: float) -> float:
    """A magnitude uniform in [low, high] with a random sign (a drawn shift is never ~0)."""
    magnitude = _uniform(generator, low, high)
    return magnitude if _coin(generator, 0.5) else -magnitude


def with_gamma(image: torch.Tensor, exponent: float) -> torch.Tensor:
    """Power law: values in [0, 1] raised to `exponent`."""
    return image.clamp(0, 1) ** exponent


def with_contrast(image: torch.Tensor, factor: float) -> torch.Tensor:
    """Contrast scaled by `factor` around the image's mean, clipped to [0, 1]."""
    mean = image.mean()
    return ((image - mean) * factor + mean).clamp(0, 1)


def equalised(image: torch.Tensor) -> torch.Tensor:
    """Histogram equalisation (`preprocess.equalise`) of a (1, H, W) image."""
    return torch.from_numpy(preprocess.equalise(image[0].numpy()))[None].to(image.dtype)


def gamma(image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Power law with exponent exp(+-0.1..0.5), 0.6 to 1.65 (a different exposure / LUT)."""
    return with_gamma(image, math.exp(_signed(generator, 0.1, 0.5)))


def contrast(image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Contrast scaled by 1 +- 0.1..0.4 around the image's mean."""
    return with_contrast(image, 1 + _signed(generator, 0.1, 0.4))


def equalise(image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Histogram equalisation, blended with the original at weight 0.5 to 1."""
    weight = _uniform(generator, 0.5, 1.0)
    return weight * equalised(image) + (1 - weight) * image


def _gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=image.dtype)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    padded = F.pad(image[None], (radius, radius, radius, radius), mode="replicate")
    out = F.conv2d(padded, kernel.view(1, 1, 1, -1))
    return F.conv2d(out, kernel.view(1, 1, -1, 1))[0]


def blur(image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Gaussian blur, sigma 0.4 to 1.5 input pixels (focal spot, motion, processing)."""
    return _gaussian_blur(image, _uniform(generator, 0.4, 1.5))


def resolution(image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A source between SOURCE_SIDES px: one smaller than REFERENCE_SIDE loses detail in
    proportion (down-sampled and up-sampled again), a larger one is edge-enhanced (unsharp
    mask), as detectors and their processing differ."""
    side = math.exp(_uniform(generator, *(math.log(s) for s in SOURCE_SIDES)))
    size = image.shape[-1]
    if side < REFERENCE_SIDE:
        small = max(8, round(size * side / REFERENCE_SIDE))
        down = F.interpolate(image[None], size=(small, small), mode="bilinear", antialias=True)
        return F.interpolate(down, size=(size, size), mode="bilinear", align_corners=False)[0]
    amount = (side / REFERENCE_SIDE - 1) * 0.8
    return (image + amount * (image - _gaussian_blur(image, 1.0))).clamp(0, 1)


def noise(image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Quantum-like noise: Gaussian with a standard deviation of 0.005 to 0.03 scaled by the
    square root of the signal, clipped to [0, 1]."""
    sigma = _uniform(generator, 0.005, 0.03)
    draw = torch.randn(image.shape, generator=generator, dtype=image.dtype)
    return (image + sigma * image.clamp(min=0).sqrt() * draw).clamp(0, 1)


def jpeg(image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """JPEG re-encoding at quality 30 to 95 (an export or a web PACS)."""
    quality = int(round(_uniform(generator, 30, 95)))
    pixels = (image[0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    decoded = np.asarray(Image.open(buffer).convert("L"), dtype=np.float32) / 255.0
    return torch.from_numpy(decoded)[None].to(image.dtype)


def borders(image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Framing: the image shrunk into a uniform border (a wider field or a padded export) or
    its edges covered by collimation (bright, unexposed) or black bands, 2 to 12% per side."""
    size = image.shape[-1]
    value = 1.0 if _coin(generator, 0.5) else 0.0
    widths = [int(size * _uniform(generator, 0.02, 0.12)) for _ in range(4)]
    top, bottom, left, right = widths
    if _coin(generator, 0.5):  # shrink into a border
        inner = (max(8, size - top - bottom), max(8, size - left - right))
        small = F.interpolate(image[None], size=inner, mode="bilinear", antialias=True)[0]
        out = torch.full_like(image, value)
        out[:, top : top + inner[0], left : left + inner[1]] = small
        return out
    out = image.clone()
    out[:, :top, :] = value
    out[:, size - bottom :, :] = value
    out[:, :, :left] = value
    out[:, :, size - right :] = value
    return out


#: (name, transform, probability) in the order they are applied: acquisition, processing,
#: export, framing.
TRANSFORMS: tuple[tuple[str, Transform, float], ...] = (
    ("resolution", resolution, 0.4),
    ("blur", blur, 0.2),
    ("noise", noise, 0.3),
    ("gamma", gamma, 0.7),
    ("contrast", contrast, 0.5),
    ("equalise", equalise, 0.5),
    ("jpeg", jpeg, 0.3),
    ("borders", borders, 0.2),
)


def site_shift(batch: torch.Tensor, generator: torch.Generator, spec: InputSpec) -> torch.Tensor:
    """A copy of a normalised batch (B, 1, S, S) with each image passed through each of
    TRANSFORMS with that transform's probability, in the display domain."""
    unit = (batch * spec.std + spec.mean).clamp(0, 1)
    out = []
    for image in unit:
        for _name, transform, p in TRANSFORMS:
            if _coin(generator, p):
                image = transform(image, generator)
        out.append(image)
    return (torch.stack(out) - spec.mean) / spec.std
