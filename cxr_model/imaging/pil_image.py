"""PNG, JPEG, TIFF and BMP through Pillow: grayscale at full bit depth, EXIF orientation."""

from __future__ import annotations

from typing import IO

import numpy as np
from PIL import (
    BmpImagePlugin,
    Image,
    ImageFile,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
)

from cxr_model.errors import RefusedError
from cxr_model.files import describe
from cxr_model.imaging.limits import check_size
from cxr_model.imaging.xray_image import XrayImage, data_window

PIL_OPENERS = {
    "PNG": PngImagePlugin.PngImageFile,
    "JPEG": JpegImagePlugin.JpegImageFile,
    "TIFF": TiffImagePlugin.TiffImageFile,
    "BMP": BmpImagePlugin.BmpImageFile,
}


def read_pil(
    fh: IO[bytes], source: str, fmt: str, max_side: int | None, notes: list[str]
) -> XrayImage:
    """Decode a Pillow format (`fmt`) from `fh`; `max_side` allows JPEG draft decoding."""
    # Construct the plugin directly: it parses only the header (lazy), exactly like
    # Image.open, but lets us check the size ourselves and report it in the message.
    im: ImageFile.ImageFile = PIL_OPENERS[fmt](fh)
    width, height = im.size
    check_size(width, height)
    if width <= 0 or height <= 0:
        raise RefusedError(f"image has no pixels ({width}x{height})")
    frames = int(getattr(im, "n_frames", 1) or 1)
    if frames > 1:
        notes.append(f"multi-page {fmt} ({frames} pages): showing page 1")
    stored_size = (width, height)

    if fmt == "JPEG" and max_side is not None and max_side > 0:
        # Decode at 1/2, 1/4 or 1/8 scale while both sides stay >= max_side.
        im.draft("L", (int(max_side), int(max_side)))
    im.load()

    if fmt == "JPEG":
        decoded_size = im.size
        try:
            orientation = int(im.getexif().get(0x0112, 1) or 1)
        except Exception:
            orientation = 1
        if orientation != 1:
            try:
                transposed = ImageOps.exif_transpose(im)
            except Exception as exc:
                notes.append(f"EXIF orientation could not be applied ({describe(exc)})")
            else:
                if transposed is not None:
                    im = transposed
        # original_size follows the displayed orientation, like the pixels.
        if im.size != decoded_size and im.size == decoded_size[::-1]:
            stored_size = (stored_size[1], stored_size[0])

    pixels, bits = pil_to_gray(im)
    if pixels.ndim != 2 or pixels.size == 0:
        raise RefusedError(f"image has no pixels ({pixels.shape})")
    if pixels.dtype == np.uint8:
        window = (127.5, 255.0)
    else:
        window = data_window(pixels)
    return XrayImage(
        pixels=np.ascontiguousarray(pixels),
        window=window,
        bits=bits,
        source=source,
        format=fmt,
        original_size=stored_size,
        warnings=tuple(notes),
    )


def pil_to_gray(im: Image.Image) -> tuple[np.ndarray, int]:
    """Gray pixels and bit depth: 16-bit and float kept, colour to luma, alpha over black."""
    mode = im.mode
    if mode.startswith("I;16"):
        arr = np.asarray(im)
        return arr.astype(np.uint16, copy=False), 16
    if mode in ("I", "I;32", "I;32S", "I;32B", "I;32BS"):
        arr = np.asarray(im)
        if arr.size and arr.min() >= 0 and arr.max() <= 0xFFFF:
            return arr.astype(np.uint16), 16
        return arr.astype(np.float32), 32
    if mode == "F":
        return np.asarray(im, dtype=np.float32), 32
    if mode == "L":
        return np.asarray(im, dtype=np.uint8), 8
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        mode == "P" and "transparency" in im.info
    )
    if has_alpha:
        rgba = im.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        gray = Image.alpha_composite(black, rgba).convert("L")
    elif mode in ("RGB", "L", "1", "P", "CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        gray = im.convert("L") if mode not in ("CMYK",) else im.convert("RGB").convert("L")
    else:
        gray = im.convert("RGB").convert("L")
    return np.asarray(gray, dtype=np.uint8), 8
