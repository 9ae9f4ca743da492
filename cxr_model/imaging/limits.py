"""The size limit: images are refused from their header, before any pixel buffer exists."""

from __future__ import annotations

from PIL import Image

from cxr_model.errors import RefusedError

#: Largest image (width * height, times frames for DICOM) that is decoded. Documented limit.
MAX_PIXELS: int = 100_000_000

# PIL's own bomb guard agrees with ours (it warns above this and raises above twice this).
# We never rely on it: the size is checked before load().
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def check_size(width: int, height: int, frames: int = 1) -> None:
    """RefusedError when width x height (x frames) is over MAX_PIXELS."""
    total = width * height * frames
    if total > MAX_PIXELS:
        dims = f"{width}x{height}" + (f"x{frames} frames" if frames > 1 else "")
        limit = f"{MAX_PIXELS / 1e6:g} MP"
        raise RefusedError(
            f"image is {dims} = {total / 1e6:.1f} megapixels, over the {limit} limit"
        )


def bomb_reason(exc: BaseException) -> str | None:
    """The reason for PIL's own decompression-bomb exceptions, None for any other."""
    if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
        return f"image is over the {MAX_PIXELS / 1e6:g} MP limit ({exc})"
    return None
