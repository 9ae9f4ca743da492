"""Test helper: write a valid uncompressed DICOM (CR, Explicit VR Little Endian) with pydicom.

Used by several test modules to turn real X-ray images into DICOM files.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ExplicitVRLittleEndian,
    generate_uid,
)

CR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1"
DX_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image - For Presentation


def _load_gray(src: Path | np.ndarray) -> np.ndarray:
    if isinstance(src, np.ndarray):
        arr = np.asarray(src)
        if arr.ndim == 3 and arr.shape[-1] in (3, 4):
            rgb = arr[..., :3].astype(np.float64)
            arr = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
            arr = np.rint(arr).astype(src.dtype if src.dtype.kind in "ui" else np.float64)
        if arr.ndim != 2:
            raise ValueError(f"make_dicom needs a 2-D image, got shape {arr.shape}")
        return arr
    with Image.open(Path(src)) as im:
        im = ImageOps.exif_transpose(im) or im
        if im.mode.startswith("I;16"):
            return np.asarray(im).astype(np.uint16)
        if im.mode in ("I", "F"):
            return np.asarray(im)
        return np.asarray(im.convert("L"), dtype=np.uint8)


def _to_stored(arr: np.ndarray, bits: int) -> np.ndarray:
    """Fit ``arr`` into ``bits`` stored bits (uint8 container for <= 8 bits, else uint16).

    uint8 input is scaled to the full ``bits`` range; other integer input is kept (clipped);
    float input is scaled from its min/max to the full range.
    """
    top = 2**bits - 1
    if arr.dtype == np.uint8:
        values = arr.astype(np.float64) * (top / 255.0) if bits != 8 else arr
    elif arr.dtype.kind in "ui":
        values = arr.astype(np.int64)
    else:
        data = arr.astype(np.float64)
        low, high = (float(np.nanmin(data)), float(np.nanmax(data))) if data.size else (0.0, 1.0)
        values = (data - low) * (top / max(high - low, 1e-12))
    values = np.clip(np.rint(values), 0, top)
    return values.astype(np.uint8 if bits <= 8 else np.uint16)


def make_dicom(
    src: Path | np.ndarray,
    dst: Path,
    *,
    monochrome1: bool = False,
    bits: int = 16,
    window: tuple[float, float] | None = None,
    frames: int = 1,
    rescale: tuple[float, float] = (1.0, 0.0),
    **header: object,
) -> Path:
    """Write ``src`` (an image file or a 2-D array) as an uncompressed CR DICOM at ``dst``.

    - ``bits``: BitsStored (1..16). BitsAllocated is 8 for bits <= 8, else 16. uint8 sources
      are scaled to the full ``bits`` range, wider integer sources are clipped, floats are
      scaled from their min/max.
    - ``monochrome1``: tag the *same stored values* as MONOCHROME1, so a correct reader shows
      the inverse: ``read(mono1) + read(mono2) == 2**bits - 1`` with ``rescale=(1, 0)``.
    - ``window``: (center, width) written as WindowCenter/WindowWidth.
    - ``frames``: number of frames; frame 1 is the image, frame k is it rolled by 7*(k-1)
      columns (distinct frames, so "first frame" is checkable).
    - ``rescale``: (slope, intercept) written as RescaleSlope/RescaleIntercept.
    - ``header``: DICOM keywords set last (e.g. PatientID, StudyInstanceUID, Modality,
      ViewPosition, PatientAge, AccessionNumber); ``Modality="DX"`` makes it a DX image.
    """
    if not 1 <= bits <= 16:
        raise ValueError("bits must be within 1..16")
    if frames < 1:
        raise ValueError("frames must be >= 1")
    stored = _to_stored(_load_gray(src), bits)
    rows, cols = stored.shape
    stack = [np.roll(stored, 7 * k, axis=1) for k in range(frames)]
    raw = b"".join(
        np.ascontiguousarray(f).astype(stored.dtype.newbyteorder("<")).tobytes() for f in stack
    )
    if len(raw) % 2:
        raw += b"\x00"

    dst = Path(dst)
    sop_class = DX_IMAGE_STORAGE if header.get("Modality") == "DX" else CR_IMAGE_STORAGE
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = str(header.get("SOPInstanceUID") or generate_uid())
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID

    ds = FileDataset(str(dst), {}, file_meta=meta, preamble=b"\x00" * 128)
    now = _dt.datetime.now()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "Test^Phantom"
    ds.PatientID = "TEST0001"
    ds.Modality = "CR"
    ds.BodyPartExamined = "CHEST"
    ds.StudyDate = now.strftime("%Y%m%d")
    ds.ContentTime = now.strftime("%H%M%S")
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME1" if monochrome1 else "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = 8 if bits <= 8 else 16
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    slope, intercept = rescale
    ds.RescaleSlope = f"{float(slope):g}"
    ds.RescaleIntercept = f"{float(intercept):g}"
    ds.RescaleType = "US"
    if window is not None:
        ds.WindowCenter = f"{float(window[0]):g}"
        ds.WindowWidth = f"{float(window[1]):g}"
    ds.PixelData = raw
    ds["PixelData"].VR = "OB" if ds.BitsAllocated == 8 else "OW"
    for keyword, value in header.items():
        setattr(ds, keyword, value)
    ds.save_as(dst, enforce_file_format=True)
    return dst
