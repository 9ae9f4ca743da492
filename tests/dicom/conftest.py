"""Fixtures of the DICOM network tests: small real X-rays, studies loaded into the session's
real Orthanc (the `orthanc` fixture of tests/conftest.py), DCMTK and dciodvfy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import pytest
from helpers_orthanc import (
    Orthanc,
    missing_tools,
    storescu,
    write_documents_study,
    write_study,
    xray_pixels,
)


@pytest.fixture(scope="session")
def dcmtk() -> None:
    missing = missing_tools("storescu", "findscu")
    if missing:
        pytest.skip(f"DCMTK is not installed ({', '.join(missing)}; apt-get install dcmtk)")


@pytest.fixture(scope="session")
def xray(fullres_images: list[Path]) -> np.ndarray:
    """One real full-resolution X-ray, downscaled to 320 px wide."""
    return xray_pixels(fullres_images[0])


@pytest.fixture(scope="session")
def xrays(fullres_images: list[Path]) -> list[np.ndarray]:
    """Four different real X-rays, downscaled."""
    return [xray_pixels(path) for path in fullres_images[:4]]


@dataclass(frozen=True)
class LoadedStudy:
    """A study loaded into the test Orthanc (by DCMTK storescu)."""

    patient_id: str
    study_uid: str
    files: list[Path]


def load_studies(orthanc: Orthanc, xrays: list[np.ndarray], folder: Path,
                 study_date: str) -> dict[str, LoadedStudy]:
    """Write and store (DCMTK storescu) four studies of one study date, named for what they
    hold: frontal (one CR PA), mixed (DX AP + CR lateral), laterals (two laterals only),
    documents (a text SR and a PDF only). Real X-rays, real-looking headers."""
    tag = study_date[-4:]
    made = {
        "frontal": write_study(folder / "frontal", xrays[0], f"CXRT-FRONTAL-{tag}",
                               StudyDate=study_date),
        "mixed": write_study(folder / "mixed", xrays[1], f"CXRT-MIXED-{tag}",
                             views=(("DX", "AP"), ("CR", "LL")), StudyDate=study_date),
        "laterals": write_study(folder / "laterals", xrays[2], f"CXRT-LATERALS-{tag}",
                                views=(("CR", "LL"), ("CR", "RL")), StudyDate=study_date),
        "documents": write_documents_study(folder / "documents", f"CXRT-DOCUMENTS-{tag}",
                                           StudyDate=study_date),
    }
    files = [path for paths in made.values() for path in paths]
    result = storescu(orthanc.dicom_port, files)
    assert result.returncode == 0, result.stderr
    loaded = {}
    for name, paths in made.items():
        ds = pydicom.dcmread(paths[0], stop_before_pixels=True)
        loaded[name] = LoadedStudy(str(ds.PatientID), str(ds.StudyInstanceUID), paths)
    return loaded


@pytest.fixture(scope="session")
def studies(orthanc, dcmtk, xrays, tmp_path_factory) -> dict[str, LoadedStudy]:
    """The four studies of `load_studies`, dated 2025-03-14, that no test modifies."""
    return load_studies(orthanc, xrays, tmp_path_factory.mktemp("studies"), "20250314")


@pytest.fixture(scope="session")
def dciodvfy() -> None:
    if missing_tools("dciodvfy"):
        pytest.skip("dciodvfy is not installed (apt-get install dicom3tools)")
