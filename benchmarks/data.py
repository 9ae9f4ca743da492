"""Benchmark inputs, built in a temporary folder from the shared data sets."""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.common import FULLRES_DIR, PAIRS_CSV

FULLRES_REPEAT = 4  # the 16 full-resolution images, 4 times each (distinct names) per scan
DETECTOR = (2500, 2048)  # a DX/CR detector's image (width, height), written as 16-bit DICOM
DETECTOR_REPEAT = 8  # the 16 X-rays as detector DICOMs, 8 links each: 128 files per scan


@dataclass(frozen=True)
class Inputs:
    """Files of one benchmark run."""

    single: dict[str, Path]  # kind ("jpeg224", "jpeg_fullres", "dicom16", ...) -> image file
    test_folder: Path
    test_count: int
    test_reports: int
    fullres_folder: Path
    fullres_count: int
    fullres_reports: int
    detector_folder: Path
    detector_count: int
    detector_reports: int

    def describe(self) -> dict:
        """JSON facts about the inputs (sizes, counts)."""
        sizes = {}
        for kind, path in self.single.items():
            if path.suffix == ".dcm":
                import pydicom

                ds = pydicom.dcmread(path, stop_before_pixels=True)
                sizes[kind] = {
                    "file": path.name,
                    "size": [int(ds.Columns), int(ds.Rows)],
                    "bits": int(ds.BitsStored),
                }
            else:
                with Image.open(path) as im:
                    sizes[kind] = {"file": path.name, "size": list(im.size), "mode": im.mode}
        return {
            "single": sizes,
            "scan_test": {"images": self.test_count, "with_report": self.test_reports},
            "scan_fullres": {"images": self.fullres_count, "with_report": self.fullres_reports},
            "scan_detector": {
                "images": self.detector_count,
                "with_report": self.detector_reports,
                "size": list(DETECTOR),
                "bits": 16,
            },
        }


def test_rows() -> list[dict[str, str]]:
    """The `test` rows of pairs.csv, in file order."""
    with open(PAIRS_CSV, newline="", encoding="utf-8") as fh:
        return [row for row in csv.DictReader(fh) if row["split"] == "test"]


def fullres_images() -> list[Path]:
    """The full-resolution JPEGs, sorted by name."""
    return sorted(FULLRES_DIR.glob("*.jpeg"))


def largest(paths: list[Path]) -> Path:
    """The image with the most pixels (the single-image full-resolution case)."""

    def pixels(path: Path) -> int:
        with Image.open(path) as im:
            return im.size[0] * im.size[1]

    return max(paths, key=pixels)


def _link(src: Path, dst: Path) -> None:
    try:
        dst.symlink_to(src)
    except OSError:
        shutil.copyfile(src, dst)


def detector_dicom(src: Path, dst: Path) -> Path:
    """`src` enlarged to detector size (bicubic) and written as a 16-bit DICOM."""
    from tests.helpers_dicom import make_dicom

    with Image.open(src) as im:
        big = im.convert("F").resize(DETECTOR, Image.Resampling.BICUBIC)
    return make_dicom(np.asarray(big), dst)


def _linked_copies(
    sources: list[Path], folder: Path, repeat: int, reports: list[str]
) -> tuple[int, int]:
    """`repeat` symlinks of every source in `folder` (distinct names), every other one with a
    report; (files, files with a report)."""
    folder.mkdir()
    count = with_report = 0
    for copy in range(repeat):
        for src in sources:
            dst = folder / f"{src.stem}-r{copy}{src.suffix}"
            _link(src, dst)
            if count % 2 == 0:
                dst.with_suffix(".txt").write_text(
                    reports[count % len(reports)] + "\n", encoding="utf-8"
                )
                with_report += 1
            count += 1
    return count, with_report


def build_inputs(work: Path, quick: bool) -> Inputs:
    """Lay out the single-image files, the test-split scan folder, the full-res folder and
    the folder of detector-size 16-bit DICOMs.

    Single images are copies with a same-stem .txt report. Scan folders hold symlinks;
    every other image gets its report from pairs.csv (full-res images borrow test reports).
    """
    from tests.helpers_dicom import make_dicom

    rows = test_rows()
    if not rows:
        raise SystemExit(f"no test rows in {PAIRS_CSV}")
    base = PAIRS_CSV.parent
    reports = [row["report"] for row in rows]
    fullres = fullres_images()
    if not fullres:
        raise SystemExit(f"no full-resolution images in {FULLRES_DIR}")

    single_dir = work / "single"
    single_dir.mkdir(parents=True)
    big = largest(fullres)
    single = {
        "jpeg224": single_dir / "image224.jpeg",
        "jpeg_fullres": single_dir / f"fullres{big.suffix}",
        "dicom16": single_dir / "fullres16.dcm",
        "dicom_detector": single_dir / "detector16.dcm",
    }
    shutil.copyfile(base / rows[0]["image"], single["jpeg224"])
    shutil.copyfile(big, single["jpeg_fullres"])
    make_dicom(big, single["dicom16"])  # 16-bit uncompressed, from the same X-ray
    detector_dicom(big, single["dicom_detector"])
    for path in single.values():
        path.with_suffix(".txt").write_text(reports[0] + "\n", encoding="utf-8")

    test_dir = work / "scan_test"
    test_dir.mkdir()
    chosen = rows[:48] if quick else rows
    with_report = 0
    for i, row in enumerate(chosen):
        src = base / row["image"]
        dst = test_dir / src.name
        _link(src, dst)
        if i % 2 == 0:
            dst.with_suffix(".txt").write_text(row["report"] + "\n", encoding="utf-8")
            with_report += 1

    repeat = 1 if quick else FULLRES_REPEAT
    fullres_dir = work / "scan_fullres"
    count, full_reports = _linked_copies(fullres, fullres_dir, repeat, reports)
    dicoms = work / "detector_dicoms"
    dicoms.mkdir()
    chosen_big = fullres[:4] if quick else fullres
    made = [detector_dicom(src, dicoms / f"{src.stem}.dcm") for src in chosen_big]
    detector_dir = work / "scan_detector"
    detector = _linked_copies(made, detector_dir, 1 if quick else DETECTOR_REPEAT, reports)
    return Inputs(
        single,
        test_dir,
        len(chosen),
        with_report,
        fullres_dir,
        count,
        full_reports,
        detector_dir,
        *detector,
    )
