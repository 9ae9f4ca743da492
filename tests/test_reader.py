"""Tests for cxr_model.imaging.reader: every supported format, every failure a user can cause."""

from __future__ import annotations

import builtins
import io
import os
import shutil
import struct
import tracemalloc
import warnings
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from corpus import build_corpus
from helpers_dicom import make_dicom
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from cxr_model.errors import CXRError, ImageReadError, ReportReadError
from cxr_model.imaging import limits, pil_image
from cxr_model.imaging.reader import (
    MAX_PIXELS,
    SUPPORTED_SUFFIXES,
    XrayImage,
    is_dicom_file,
    is_supported,
    read_dataset,
    read_image,
    read_image_bytes,
)
from cxr_model.text.report import read_report

REPO = Path(__file__).resolve().parents[1]
PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
REGRESSIONS = Path(__file__).resolve().parent / "regressions"

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def fullres_jpegs(shared_data: Path) -> list[Path]:
    files = sorted((shared_data / "fullres").glob("*.jpeg"))
    if not files:
        pytest.skip(f"no full-resolution JPEGs in {shared_data / 'fullres'}")
    return files


@pytest.fixture(scope="session")
def xray_jpeg(fullres_jpegs: list[Path]) -> Path:
    """A real full-size chest X-ray JPEG (the first of fullres/)."""
    return fullres_jpegs[0]


@pytest.fixture(scope="session")
def xray_gray(xray_jpeg: Path) -> np.ndarray:
    with Image.open(xray_jpeg) as im:
        return np.asarray(im.convert("L"), dtype=np.uint8)


@pytest.fixture(scope="session")
def xray_small(xray_jpeg: Path) -> np.ndarray:
    """The real X-ray reduced to 96x80 (uint8), for quick files."""
    with Image.open(xray_jpeg) as im:
        return np.asarray(im.convert("L").resize((96, 80), Image.Resampling.BILINEAR))


@pytest.fixture(scope="session")
def small_pair_jpeg(shared_data: Path) -> Path:
    images = shared_data / "cxr-pairs" / "images"
    files = sorted(images.glob("*.jpeg")) if images.is_dir() else []
    if not files:
        pytest.skip(f"no cxr-pairs images in {images}")
    return min(files[:200], key=lambda p: p.stat().st_size)


def dcm(name: str) -> Path:
    path = PYDICOM_FILES / name
    if not path.is_file():
        pytest.skip(f"pydicom test file {name} not shipped with this pydicom")
    return path


def reason_of(path: Path, **kwargs) -> str:
    with pytest.raises(ImageReadError) as info:
        read_image(path, **kwargs)
    err = info.value
    assert isinstance(err, CXRError)
    assert err.file == str(path)
    assert str(path) in str(err)
    return err.reason


def png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def patch_png_ihdr(data: bytes, width: int, height: int) -> bytes:
    """Rewrite width/height in a PNG's IHDR chunk and fix its CRC."""
    assert data[12:16] == b"IHDR"
    body = struct.pack(">II", width, height) + data[24:29]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + body) & 0xFFFFFFFF)
    return data[:16] + body + crc + data[33:]


# --------------------------------------------------------------------------- API basics


def test_public_constants() -> None:
    assert MAX_PIXELS == 100_000_000
    assert SUPPORTED_SUFFIXES == frozenset(
        {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".dcm", ".dicom"}
    )
    assert Image.MAX_IMAGE_PIXELS == MAX_PIXELS
    assert not ImageFile.LOAD_TRUNCATED_IMAGES


def test_to_unit_maps_window_linearly() -> None:
    img = XrayImage(
        pixels=np.array([[0, 50, 100], [150, 200, 250]], dtype=np.uint16),
        window=(100.0, 100.0),
        bits=16,
        source="x",
        format="PNG",
        original_size=(3, 2),
        warnings=(),
    )
    unit = img.to_unit()
    assert unit.dtype == np.float32 and unit.shape == (2, 3)
    np.testing.assert_allclose(unit, [[0, 0, 0.5], [1, 1, 1]])
    np.testing.assert_allclose(img.to_unit((125.0, 250.0)), [[0, 0.2, 0.4], [0.6, 0.8, 1.0]])


# --------------------------------------------------------------------------- real JPEGs


def test_fullres_jpegs_read_at_full_size(fullres_jpegs: list[Path]) -> None:
    assert len(fullres_jpegs) >= 1
    for path in fullres_jpegs:
        with Image.open(path) as im:
            width, height = im.size
        img = read_image(path)
        assert img.format == "JPEG"
        assert img.pixels.dtype == np.uint8
        assert img.pixels.shape == (height, width)
        assert img.original_size == (width, height)
        assert img.bits == 8 and img.window == (127.5, 255.0)
        assert img.source == str(path)
        unit = img.to_unit()
        assert unit.dtype == np.float32 and 0.0 <= unit.min() and unit.max() <= 1.0
        assert img.pixels.std() > 10  # a real X-ray, not a blank frame


def test_max_side_drafts_large_jpeg(xray_jpeg: Path, xray_gray: np.ndarray) -> None:
    full = read_image(xray_jpeg)
    small = read_image(xray_jpeg, max_side=224)
    assert small.original_size == full.original_size
    assert small.pixels.shape[0] < full.pixels.shape[0]
    assert small.pixels.shape[1] < full.pixels.shape[1]
    assert min(small.pixels.shape) >= 224
    assert small.pixels.dtype == np.uint8
    # Same picture: the full decode reduced to the draft size correlates strongly.
    h, w = small.pixels.shape
    reduced = np.asarray(Image.fromarray(xray_gray).resize((w, h), Image.Resampling.BOX))
    corr = np.corrcoef(reduced.ravel().astype(float), small.pixels.ravel().astype(float))[0, 1]
    assert corr > 0.95


def test_max_side_ignored_for_png(tmp_path: Path, xray_gray: np.ndarray) -> None:
    path = tmp_path / "xray.png"
    Image.fromarray(xray_gray).save(path)
    img = read_image(path, max_side=224)
    np.testing.assert_array_equal(img.pixels, xray_gray)


def test_exif_orientation_6_rotates(tmp_path: Path, xray_gray: np.ndarray) -> None:
    stored = np.ascontiguousarray(xray_gray[:200, :300])  # 300 wide, 200 high
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif.tobytes())
    img = read_image(path)
    assert img.pixels.shape == (300, 200)
    assert img.original_size == (200, 300)
    with Image.open(path) as im:
        as_stored = np.asarray(im.convert("L"))
    np.testing.assert_array_equal(img.pixels, np.rot90(as_stored, k=-1))


def test_truncated_jpeg_refused(tmp_path: Path, xray_jpeg: Path) -> None:
    data = xray_jpeg.read_bytes()
    path = tmp_path / "half.jpeg"
    path.write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt" in reason_of(path)
    assert "truncated or corrupt" in reason_of(path, max_side=224)


def test_jpeg_named_png_loads_by_content(tmp_path: Path, xray_jpeg: Path) -> None:
    path = tmp_path / "actually_jpeg.png"
    shutil.copyfile(xray_jpeg, path)
    img = read_image(path)
    assert img.format == "JPEG"
    assert any(".png" in w for w in img.warnings)


def test_limit_applies_to_real_images(monkeypatch: pytest.MonkeyPatch, xray_jpeg: Path) -> None:
    monkeypatch.setattr(limits, "MAX_PIXELS", 1_000_000)
    reason = reason_of(xray_jpeg)
    assert "megapixels, over the 1 MP limit" in reason


# --------------------------------------------------------------------------- PNG/TIFF/BMP


@pytest.mark.parametrize("fmt,suffix", [("PNG", ".png"), ("TIFF", ".tif")])
def test_16bit_kept_and_window_covers_data(
    tmp_path: Path, xray_gray: np.ndarray, fmt: str, suffix: str
) -> None:
    data12 = (xray_gray.astype(np.uint16) * 16 + 7)[:600, :500]  # 12-bit data in 16-bit file
    path = tmp_path / f"xray16{suffix}"
    Image.fromarray(data12).save(path, format=fmt)
    img = read_image(path)
    assert img.format == fmt
    assert img.pixels.dtype == np.uint16 and img.bits == 16
    np.testing.assert_array_equal(img.pixels, data12)
    center, width = img.window
    assert center - width / 2 <= data12.min() and center + width / 2 >= data12.max()
    assert center + width / 2 <= 4095 + 7  # window from the data, not the container
    unit = img.to_unit()
    assert unit.min() == pytest.approx(0.0) and unit.max() == pytest.approx(1.0)
    assert unit.mean() > 0.2  # not dark


def test_truncated_png_refused(tmp_path: Path, xray_gray: np.ndarray) -> None:
    data = png_bytes(xray_gray)
    path = tmp_path / "half.png"
    path.write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt" in reason_of(path)


def test_rgba_composited_onto_black(tmp_path: Path, xray_small: np.ndarray) -> None:
    h, w = xray_small.shape
    alpha = np.tile(np.linspace(0, 255, w).round().astype(np.uint8), (h, 1))
    rgba = np.dstack([xray_small, xray_small, xray_small, alpha])
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, "RGBA").save(path)
    img = read_image(path)
    assert img.pixels.dtype == np.uint8 and img.pixels.shape == (h, w)
    expected = xray_small.astype(float) * alpha / 255.0
    assert np.abs(img.pixels - expected).max() <= 1.5
    assert img.pixels[:, 0].max() == 0  # fully transparent -> black


def test_la_composited_onto_black(tmp_path: Path, xray_small: np.ndarray) -> None:
    h, w = xray_small.shape
    alpha = np.full((h, w), 128, dtype=np.uint8)
    path = tmp_path / "la.png"
    Image.fromarray(np.dstack([xray_small, alpha]), "LA").save(path)
    img = read_image(path)
    expected = xray_small.astype(float) * 128 / 255.0
    assert np.abs(img.pixels - expected).max() <= 1.5


def test_palette_png(tmp_path: Path, xray_small: np.ndarray) -> None:
    rgb = Image.fromarray(np.dstack([xray_small] * 3), "RGB")
    pal = rgb.quantize(colors=64)
    path = tmp_path / "palette.png"
    pal.save(path)
    with Image.open(path) as im:
        assert im.mode == "P"
        expected = np.asarray(im.convert("L"))
    img = read_image(path)
    np.testing.assert_array_equal(img.pixels, expected)
    assert np.corrcoef(img.pixels.ravel(), xray_small.ravel())[0, 1] > 0.95


def test_rgb_png_uses_pil_luma(tmp_path: Path, xray_small: np.ndarray) -> None:
    rgb = np.dstack([xray_small, np.flipud(xray_small), 255 - xray_small])
    path = tmp_path / "rgb.png"
    Image.fromarray(rgb, "RGB").save(path)
    expected = np.asarray(Image.fromarray(rgb, "RGB").convert("L"))
    np.testing.assert_array_equal(read_image(path).pixels, expected)


def test_cmyk_jpeg(tmp_path: Path, xray_small: np.ndarray) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(xray_small).convert("CMYK").save(path, quality=95)
    with Image.open(path) as im:
        assert im.mode == "CMYK"
    img = read_image(path)
    assert img.pixels.dtype == np.uint8 and img.pixels.shape == xray_small.shape
    corr = np.corrcoef(img.pixels.ravel().astype(float), xray_small.ravel().astype(float))[0, 1]
    assert corr > 0.95  # not inverted, same picture


def test_bmp(tmp_path: Path, xray_small: np.ndarray) -> None:
    path = tmp_path / "xray.bmp"
    Image.fromarray(xray_small).save(path)
    img = read_image(path)
    assert img.format == "BMP"
    np.testing.assert_array_equal(img.pixels, xray_small)


def test_multipage_tiff_first_page(tmp_path: Path, xray_small: np.ndarray) -> None:
    path = tmp_path / "pages.tiff"
    first = Image.fromarray(xray_small)
    first.save(path, save_all=True, append_images=[Image.fromarray(255 - xray_small)])
    img = read_image(path)
    np.testing.assert_array_equal(img.pixels, xray_small)
    assert any("2 pages" in w for w in img.warnings)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".tif", ".dcm"])
def test_one_by_one_loads(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"dot{suffix}"
    arr = np.array([[200]], dtype=np.uint8)
    if suffix == ".dcm":
        make_dicom(arr, path, bits=8)
    else:
        Image.fromarray(arr).save(path)
    img = read_image(path)
    assert img.pixels.shape == (1, 1)
    assert img.original_size == (1, 1)
    assert img.to_unit().shape == (1, 1)


def test_zero_dimension_refused_cleanly(tmp_path: Path) -> None:
    data = png_bytes(np.array([[7]], dtype=np.uint8))
    path = tmp_path / "zero.png"
    path.write_bytes(patch_png_ihdr(data, 0, 5))
    reason = reason_of(path)
    assert reason  # a clean ImageReadError, whatever PIL thinks of it
    dpath = tmp_path / "zero.dcm"
    make_dicom(np.zeros((4, 4), np.uint8), dpath, bits=8)
    ds = pydicom.dcmread(dpath)
    ds.Rows = 0
    ds.save_as(dpath)
    assert "no pixels" in reason_of(dpath)


# --------------------------------------------------------------------------- refusals


def test_png_decompression_bomb_refused_without_allocating(tmp_path: Path) -> None:
    data = patch_png_ihdr(png_bytes(np.array([[1]], dtype=np.uint8)), 30000, 30000)
    path = tmp_path / "bomb.png"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        with pytest.raises(ImageReadError) as info:
            read_image(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.reason == ("image is 30000x30000 = 900.0 megapixels, over the 100 MP limit")
    assert peak < 5_000_000


def test_jpeg_decompression_bomb_refused(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.new("L", (8, 8), 9).save(buf, format="JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60000, 60000)  # height, width
    path = tmp_path / "bomb.jpg"
    path.write_bytes(bytes(data))
    assert reason_of(path) == "image is 60000x60000 = 3600.0 megapixels, over the 100 MP limit"


def test_pil_bomb_errors_are_wrapped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    Image.new("L", (4, 4)).save(path)

    def bomb(*args, **kwargs):
        raise Image.DecompressionBombError("Image size exceeds limit")

    monkeypatch.setitem(pil_image.PIL_OPENERS, "PNG", bomb)
    assert "100 MP limit" in reason_of(path)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".dcm", ".tiff", ""])
def test_zero_byte_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    assert reason_of(path) == "file is empty"


@pytest.mark.parametrize(
    "content",
    [
        b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head></html>\n",
        b"Patient: anonymous\nFindings: no acute disease.\n",
    ],
)
@pytest.mark.parametrize("suffix", [".png", ".jpg", ".dcm"])
def test_text_and_html_refused(tmp_path: Path, content: bytes, suffix: str) -> None:
    path = tmp_path / f"download{suffix}"
    path.write_bytes(content)
    assert reason_of(path) == "not an image: looks like HTML/text"


def test_unknown_binary_refused(tmp_path: Path) -> None:
    path = tmp_path / "anim.png"
    Image.new("L", (4, 4)).save(path, format="GIF")
    assert reason_of(path).startswith("unsupported format")
    path2 = tmp_path / "noise.png"
    path2.write_bytes(bytes(range(256)) * 4)
    assert reason_of(path2).startswith("unsupported format")


def test_missing_file() -> None:
    assert reason_of(Path("/nonexistent/dir/xray.png")) == "no such file"


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "folder.png"
    folder.mkdir()
    assert reason_of(folder) == "is a directory"


def test_not_a_path() -> None:
    with pytest.raises(ImageReadError):
        read_image(None)  # type: ignore[arg-type]
    with pytest.raises(ImageReadError):
        read_image(3)  # type: ignore[arg-type]  # not a file descriptor


def _deny_open(monkeypatch: pytest.MonkeyPatch, target: Path) -> None:
    real_open = builtins.open

    def fake_open(file, *args, **kwargs):
        if isinstance(file, str | os.PathLike) and Path(file) == target:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)


def test_permission_denied_simulated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "locked.png"
    Image.new("L", (4, 4)).save(path)
    report = tmp_path / "locked.txt"
    report.write_text("x")
    _deny_open(monkeypatch, path)
    _deny_open(monkeypatch, report)
    assert reason_of(path) == "permission denied"
    with pytest.raises(ReportReadError) as info:
        read_report(report)
    assert info.value.reason == "permission denied"


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions only")
def test_permission_denied_chmod(tmp_path: Path) -> None:
    path = tmp_path / "locked.png"
    Image.new("L", (4, 4)).save(path)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: chmod 000 files stay readable (simulated test covers)")
        assert reason_of(path) == "permission denied"
    finally:
        path.chmod(0o644)


def test_unicode_and_spaces_in_names(tmp_path: Path, xray_small: np.ndarray) -> None:
    folder = tmp_path / "Röntgen Ärzte 胸部"
    folder.mkdir()
    png = folder / "Thorax pa Ölßen 01.png"
    Image.fromarray(xray_small).save(png)
    img = read_image(png)
    assert img.source == str(png)
    np.testing.assert_array_equal(img.pixels, xray_small)
    dicom = folder / "série 2 ñ.dcm"
    make_dicom(xray_small, dicom, bits=8)
    np.testing.assert_array_equal(read_image(dicom).pixels, xray_small)
    missing = folder / "fehlt é.png"
    assert reason_of(missing) == "no such file"


def test_is_supported(tmp_path: Path, xray_small: np.ndarray) -> None:
    for name in ["a.png", "b.JPG", "c.jpeg", "d.TIF", "e.tiff", "f.bmp", "g.dcm", "h.DICOM"]:
        assert is_supported(tmp_path / name), name
    for name in ["a.txt", "b.gif", "c", "d.webp"]:
        assert not is_supported(tmp_path / name), name
    bare = tmp_path / "IM000001"
    make_dicom(xray_small, bare)
    assert is_dicom_file(bare) and is_supported(bare)
    assert not is_dicom_file(tmp_path / "missing")
    assert not is_dicom_file(tmp_path)


# --------------------------------------------------------------------------- DICOM


def test_dicom_roundtrip_from_real_xray(tmp_path: Path, xray_gray: np.ndarray) -> None:
    path = make_dicom(xray_gray, tmp_path / "xray.dcm", bits=8)
    img = read_image(path)
    assert img.format == "DICOM" and img.bits == 8
    assert img.pixels.dtype == np.uint8
    np.testing.assert_array_equal(img.pixels, xray_gray)
    assert img.original_size == (xray_gray.shape[1], xray_gray.shape[0])
    assert img.warnings == ()


def test_received_dataset_decodes_as_its_file(tmp_path: Path, xray_gray: np.ndarray) -> None:
    path = make_dicom(xray_gray, tmp_path / "xray.dcm", bits=12, window=(2000.0, 3000.0))
    from_file = read_image(path)
    received = read_dataset(pydicom.dcmread(path), str(path))
    np.testing.assert_array_equal(received.pixels, from_file.pixels)
    assert (received.window, received.bits, received.format, received.original_size) == (
        from_file.window,
        from_file.bits,
        "DICOM",
        from_file.original_size,
    )
    no_pixels = pydicom.dcmread(path)
    del no_pixels.PixelData
    with pytest.raises(ImageReadError, match="no pixel data in this DICOM file"):
        read_dataset(no_pixels, "sr.dcm")
    huge = pydicom.dcmread(path)
    huge.Rows, huge.Columns = 20000, 20000
    with pytest.raises(ImageReadError, match="over the 100 MP limit"):
        read_dataset(huge, "huge.dcm")
    short = pydicom.dcmread(path)
    short.PixelData = short.PixelData[:100]
    with pytest.raises(ImageReadError, match="truncated or corrupt"):
        read_dataset(short, "short.dcm")


def test_make_dicom_from_file(tmp_path: Path, xray_jpeg: Path, xray_gray: np.ndarray) -> None:
    path = make_dicom(xray_jpeg, tmp_path / "from_file.dcm", bits=12)
    ds = pydicom.dcmread(path)
    assert ds.Modality == "CR" and ds.BitsStored == 12
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    img = read_image(path)
    assert img.pixels.dtype == np.uint16 and img.bits == 12
    np.testing.assert_array_equal(img.pixels, np.rint(xray_gray * (4095 / 255)).astype(np.uint16))


def test_monochrome1_inverted(tmp_path: Path, xray_small: np.ndarray) -> None:
    mono2 = read_image(make_dicom(xray_small, tmp_path / "m2.dcm", bits=12))
    mono1 = read_image(
        make_dicom(xray_small, tmp_path / "m1.dcm", bits=12, monochrome1=True, window=(1000, 800))
    )
    assert mono1.pixels.dtype == mono2.pixels.dtype == np.uint16
    sums = mono1.pixels.astype(np.int64) + mono2.pixels.astype(np.int64)
    assert (sums == 4095).all()
    assert mono1.window == (4095 - 1000, 800)  # VOI window mirrored with the data


def test_monochrome1_with_rescale(tmp_path: Path, xray_small: np.ndarray) -> None:
    kw = {"bits": 10, "rescale": (2.0, -100.0)}
    m1 = read_image(make_dicom(xray_small, tmp_path / "m1.dcm", monochrome1=True, **kw))
    m2 = read_image(make_dicom(xray_small, tmp_path / "m2.dcm", **kw))
    # Range of modality values is [-100, 2*1023-100]; inversion maps v -> lo + hi - v.
    np.testing.assert_allclose(m1.pixels + m2.pixels, -100 + 2 * 1023 - 100)


def test_rescale_applied(tmp_path: Path, xray_small: np.ndarray) -> None:
    path = make_dicom(xray_small, tmp_path / "ct.dcm", bits=12, rescale=(2.0, -1024.0))
    stored = pydicom.dcmread(path).pixel_array
    img = read_image(path)
    assert img.pixels.dtype == np.float32
    np.testing.assert_allclose(img.pixels, stored.astype(np.float64) * 2.0 - 1024.0)
    center, width = img.window
    assert center - width / 2 == pytest.approx(img.pixels.min())
    assert center + width / 2 == pytest.approx(img.pixels.max())


def test_rescale_on_pydicom_ct() -> None:
    path = dcm("CT_small.dcm")
    ds = pydicom.dcmread(path)
    img = read_image(path)
    expected = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(
        ds.RescaleIntercept
    )
    np.testing.assert_allclose(img.pixels, expected)
    assert img.pixels.min() < 0  # intercept -1024 really applied


def test_voi_window_kept(tmp_path: Path, xray_small: np.ndarray) -> None:
    img = read_image(make_dicom(xray_small, tmp_path / "w.dcm", bits=12, window=(1800, 3000)))
    assert img.window == (1800.0, 3000.0)
    multi = read_image(dcm("examples_overlay.dcm"))  # WindowCenter [450, 200]
    assert multi.window == (450.0, 790.0)
    mr = read_image(dcm("MR_small.dcm"))
    assert mr.window == (600.0, 1600.0)


def test_multiframe_first_frame(tmp_path: Path, xray_small: np.ndarray) -> None:
    img = read_image(make_dicom(xray_small, tmp_path / "mf.dcm", bits=8, frames=12))
    np.testing.assert_array_equal(img.pixels, xray_small)
    assert "multi-frame DICOM (12 frames): showing frame 1" in img.warnings
    dose = read_image(dcm("rtdose.dcm"))
    ref = pydicom.dcmread(dcm("rtdose.dcm")).pixel_array[0]
    np.testing.assert_array_equal(dose.pixels, ref.astype(np.float32))
    assert "multi-frame DICOM (15 frames): showing frame 1" in dose.warnings


LOSSLESS_MR = [
    "MR_small_RLE.dcm",  # RLE
    "MR_small_jp2klossless.dcm",  # JPEG 2000 lossless
    "MR_small_jpeg_ls_lossless.dcm",  # JPEG-LS lossless
    "MR_small_bigendian.dcm",
    "MR_small_implicit.dcm",
    "MR_small_expb.dcm",
    "MR_small_padded.dcm",
]


@pytest.mark.parametrize("name", LOSSLESS_MR)
def test_lossless_syntaxes_match_uncompressed(name: str) -> None:
    ref = read_image(dcm("MR_small.dcm"))
    img = read_image(dcm(name))
    np.testing.assert_array_equal(img.pixels, ref.pixels)
    assert img.window == ref.window


COLOUR_SC = [
    "SC_rgb_jpeg_dcmtk.dcm",  # JPEG baseline, YBR_FULL
    "SC_rgb_dcmtk_+eb+cr.dcm",  # JPEG baseline, RGB
    "SC_rgb_dcmtk_+eb+cy+np.dcm",  # JPEG baseline, YBR_FULL_422
    "SC_rgb_jpeg_gdcm.dcm",  # JPEG lossless process 14
    "SC_rgb_jls_lossy_line.dcm",  # JPEG-LS near lossless
    "SC_rgb_gdcm_KY.dcm",  # JPEG 2000
    "SC_rgb_rle_16bit.dcm",  # RLE, 16-bit
    "SC_rgb_rle_2frame.dcm",  # RLE, 2 frames
    "SC_ybr_full_422_uncompressed.dcm",  # native YBR_FULL_422 (subsampled size)
]


@pytest.mark.parametrize("name", COLOUR_SC)
def test_colour_syntaxes_decode_to_gray(name: str) -> None:
    ref = read_image(dcm("SC_rgb_rle.dcm")).pixels.astype(np.float64)
    img = read_image(dcm(name))
    assert img.pixels.ndim == 2 and img.pixels.shape == ref.shape
    got = img.pixels.astype(np.float64)
    if img.pixels.dtype == np.uint16:
        got = got / 257.0
    assert np.abs(got - ref).mean() < 2.0
    assert any("converted to grayscale" in w for w in img.warnings)


@pytest.mark.parametrize(
    "name",
    [
        "JPEG2000.dcm",
        "693_J2KI.dcm",
        "JPGExtended.dcm",
        "JPEGLSNearLossless_16.dcm",
        "JPEG-LL.dcm",
        "image_dfl.dcm",
        "examples_palette.dcm",
        "examples_jpeg2k.dcm",
    ],
)
def test_other_compressed_decode(name: str) -> None:
    path = dcm(name)
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    img = read_image(path)
    assert img.format == "DICOM"
    assert img.pixels.shape == (ds.Rows, ds.Columns)
    assert img.pixels.dtype in (np.uint8, np.uint16, np.float32)
    assert np.isfinite(img.pixels.astype(np.float64)).all()
    assert img.pixels.std() > 0


def test_no_pixel_data_refused() -> None:
    reason = reason_of(dcm("rtplan.dcm"))
    assert reason.startswith("no pixel data")
    assert reason_of(dcm("test-SR.dcm")).startswith("no pixel data")


def _spy_pixel_array(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = pydicom.dataset.Dataset.pixel_array

    def spy(self):
        calls.append("decoded")
        return original.fget(self)

    monkeypatch.setattr(pydicom.dataset.Dataset, "pixel_array", property(spy))
    return calls


def test_declared_size_beyond_pixel_element_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, xray_small: np.ndarray
) -> None:
    path = make_dicom(xray_small, tmp_path / "lies.dcm", bits=16)
    ds = pydicom.dcmread(path)
    ds.Rows, ds.Columns = 4000, 5000
    ds.save_as(path)
    calls = _spy_pixel_array(monkeypatch)
    reason = reason_of(path)
    assert "truncated or corrupt" in reason and "5000x4000" in reason
    assert calls == []


def test_truncated_dicom_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, xray_gray: np.ndarray
) -> None:
    path = make_dicom(xray_gray, tmp_path / "cut.dcm", bits=16)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    calls = _spy_pixel_array(monkeypatch)
    reason = reason_of(path)
    assert "truncated or corrupt" in reason and "remain in the file" in reason
    assert calls == []
    assert "truncated or corrupt" in reason_of(dcm("MR_truncated.dcm"))


def test_dicom_header_over_limit_refused_without_allocating(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, xray_small: np.ndarray
) -> None:
    path = make_dicom(xray_small, tmp_path / "huge.dcm", bits=8, frames=2)
    ds = pydicom.dcmread(path)
    ds.Rows, ds.Columns, ds.NumberOfFrames = 10000, 10000, 3
    ds.save_as(path)
    calls = _spy_pixel_array(monkeypatch)
    tracemalloc.start()
    try:
        reason = reason_of(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert reason == "image is 10000x10000x3 frames = 300.0 megapixels, over the 100 MP limit"
    assert calls == [] and peak < 5_000_000


def test_dicom_without_extension(tmp_path: Path, xray_small: np.ndarray) -> None:
    path = make_dicom(xray_small, tmp_path / "IM0001", bits=8)
    img = read_image(path)
    assert img.format == "DICOM" and img.warnings == ()
    np.testing.assert_array_equal(img.pixels, xray_small)


def test_png_named_dcm_sniffed(tmp_path: Path, xray_small: np.ndarray) -> None:
    path = tmp_path / "really_png.dcm"
    Image.fromarray(xray_small).save(path, format="PNG")
    img = read_image(path)
    assert img.format == "PNG"
    np.testing.assert_array_equal(img.pixels, xray_small)
    assert any(".dcm" in w for w in img.warnings)


def test_dicom_without_preamble_by_suffix(tmp_path: Path, xray_small: np.ndarray) -> None:
    full = make_dicom(xray_small, tmp_path / "full.dcm", bits=8)
    ds = pydicom.dcmread(full)
    bare = tmp_path / "nopreamble.dcm"
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.preamble = None
    buf = io.BytesIO()
    ds.save_as(buf, implicit_vr=True, little_endian=True)  # no preamble, no file meta
    assert b"DICM" not in buf.getvalue()[:200]
    bare.write_bytes(buf.getvalue())
    assert not is_dicom_file(bare)
    np.testing.assert_array_equal(read_image(bare).pixels, xray_small)


@pytest.mark.parametrize(
    "name",
    [
        "nested_priv_SQ.dcm",  # nested private sequences, no image module
        "badVR.dcm",  # NumberOfFrames '1A'
        "meta_missing_tsyntax.dcm",
        "no_meta.dcm",
        "rtstruct.dcm",
        "waveform_ecg.dcm",
    ],
)
def test_odd_pydicom_files_refused_cleanly(name: str) -> None:
    path = dcm(name)
    reason = reason_of(path)
    assert reason and "Error" not in reason.split("(")[0]


def test_pydicom_corpus_never_escapes() -> None:
    files = sorted(PYDICOM_FILES.glob("*.dcm"))
    if not files:
        pytest.skip("pydicom test files not installed")
    read = refused = 0
    for path in files:
        try:
            img = read_image(path)
        except ImageReadError as exc:
            assert exc.reason and exc.file == str(path)
            refused += 1
        else:
            assert img.pixels.ndim == 2 and img.pixels.dtype in (np.uint8, np.uint16, np.float32)
            read += 1
    assert read >= 40 and refused >= 5


# --------------------------------------------------------------------------- reports


@pytest.mark.parametrize(
    "data,expected",
    [
        (b"Lungs clear.\r\nNo effusion.\r\n", "Lungs clear.\nNo effusion."),
        (
            b"\xef\xbb\xbfFINDINGS: normal.\rIMPRESSION: none.",
            "FINDINGS: normal.\nIMPRESSION: none.",
        ),
        ("\ufeffOpacité basale droite.\r\n".encode("utf-16-le"), "Opacité basale droite."),
        ("\ufeffOpacité basale droite.\n".encode("utf-16-be"), "Opacité basale droite."),
        ("  opacité à droite\n\n".encode("latin-1"), "opacité à droite"),
        ("“Mild” cardiomegaly – stable".encode("cp1252"), "“Mild” cardiomegaly – stable"),
        ("Herzschatten unauffällig. 胸部".encode(), "Herzschatten unauffällig. 胸部"),
        (b"", ""),
    ],
)
def test_read_report_encodings(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "report.txt"
    path.write_bytes(data)
    assert read_report(path) == expected


def test_report_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"No acute findings. " * (6_000_000 // 19 + 1))
    with pytest.raises(ReportReadError) as info:
        read_report(path)
    assert info.value.reason.endswith("over the 5 MB limit"), info.value.reason
    assert info.value.file == str(path)


def test_report_binary_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(png_bytes(np.zeros((8, 8), np.uint8)))
    with pytest.raises(ReportReadError) as info:
        read_report(path)
    assert "binary" in info.value.reason


def test_report_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ReportReadError) as info:
        read_report(tmp_path / "none.txt")
    assert info.value.reason == "no such file"
    with pytest.raises(ReportReadError) as info:
        read_report(tmp_path)
    assert info.value.reason == "is a directory"


# --------------------------------------------------------------------------- fuzzing


def _record_crash(kind: str, suffix: str, data: bytes) -> Path:
    """Save an input that escaped read_image. Hypothesis replays the minimal failing example
    last, so the file left behind is the shrunk one; rename it to keep it as a regression."""
    REGRESSIONS.mkdir(exist_ok=True)
    path = REGRESSIONS / f"{kind}-crash{suffix}"
    path.write_bytes(data)
    return path


def _check_no_escape(path: Path, kind: str, suffix: str, data: bytes) -> None:
    path.write_bytes(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = read_image(path)
    except ImageReadError:
        return
    except BaseException as exc:
        saved = _record_crash(kind, suffix, data)
        raise AssertionError(f"{type(exc).__name__} escaped read_image; saved {saved}") from exc
    assert isinstance(result, XrayImage)
    assert result.pixels.ndim == 2 and result.pixels.size > 0
    assert result.pixels.dtype in (np.uint8, np.uint16, np.float32)


@pytest.fixture(scope="session")
def seed_png(xray_small: np.ndarray) -> bytes:
    return png_bytes(xray_small[:48, :48])


@pytest.fixture(scope="session")
def seed_jpeg(small_pair_jpeg: Path) -> bytes:
    return small_pair_jpeg.read_bytes()


@pytest.fixture(scope="session")
def seed_dicom(tmp_path_factory: pytest.TempPathFactory, xray_small: np.ndarray) -> bytes:
    folder = tmp_path_factory.mktemp("seeds")
    return make_dicom(xray_small[:40, :40], folder / "seed.dcm", bits=12).read_bytes()


@pytest.fixture(scope="session")
def seed_dicom_rle() -> bytes:
    return dcm("MR_small_RLE.dcm").read_bytes()


@pytest.fixture
def fuzz_seed(request: pytest.FixtureRequest, kind: str) -> bytes:
    return request.getfixturevalue(f"seed_{kind.replace('-', '_')}")


SUFFIXES = st.sampled_from([".png", ".jpg", ".tif", ".bmp", ".dcm", ""])


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, 0x01]))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 64))]
        elif op == "truncate":
            del data[pos:]
    return bytes(data)


FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(data=st.binary(max_size=2048), suffix=SUFFIXES)
def test_fuzz_random_bytes(tmp_path_factory, data: bytes, suffix: str) -> None:
    path = tmp_path_factory.getbasetemp() / f"fuzz-random{suffix}"
    _check_no_escape(path, "random", suffix, data)


@pytest.mark.parametrize("kind", ["png", "jpeg", "dicom", "dicom-rle"])
@FUZZ
@given(data=st.data(), suffix=SUFFIXES)
def test_fuzz_mutated_real_files(tmp_path_factory, fuzz_seed, kind, data, suffix) -> None:
    blob = data.draw(mutated(fuzz_seed))
    path = tmp_path_factory.getbasetemp() / f"fuzz-{kind}{suffix}"
    _check_no_escape(path, kind, suffix, blob)


REGRESSION_FILES = sorted(
    p for p in (REGRESSIONS.glob("*") if REGRESSIONS.is_dir() else []) if p.suffix != ".md"
)


@pytest.mark.parametrize("path", REGRESSION_FILES, ids=lambda p: p.name)
def test_regression_inputs(path: Path) -> None:
    """Inputs that once escaped read_image (found by the fuzz tests) stay handled."""
    try:
        result = read_image(path)
    except ImageReadError as exc:
        assert exc.reason
    else:
        assert isinstance(result, XrayImage)


def test_bytes_entry_point_matches_the_file_reader(tmp_path: Path, xray_jpeg: Path) -> None:
    """read_image_bytes gives what read_image gives, for every corpus file, good or bad."""
    expected = build_corpus(tmp_path, xray_jpeg)
    for name, reason in expected.items():
        path = tmp_path / name
        data = path.read_bytes()
        if reason is not None:
            with pytest.raises(ImageReadError) as from_file:
                read_image(path, max_side=224)
            with pytest.raises(ImageReadError) as from_bytes:
                read_image_bytes(data, str(path), max_side=224)
            assert str(from_bytes.value) == str(from_file.value), name
            assert reason in from_bytes.value.reason.lower(), name
            continue
        a = read_image(path, max_side=224)
        b = read_image_bytes(data, str(path), max_side=224)
        assert np.array_equal(a.pixels, b.pixels) and a.pixels.dtype == b.pixels.dtype, name
        assert (
            a.window,
            a.bits,
            a.source,
            a.format,
            a.original_size,
            a.warnings,
            dict(a.meta),
        ) == (b.window, b.bits, b.source, b.format, b.original_size, b.warnings, dict(b.meta)), name
