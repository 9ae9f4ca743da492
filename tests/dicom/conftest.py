"""Fixtures of the DICOM network tests: small real X-rays, studies loaded into the session's
real Orthanc (the `orthanc` fixture of tests/conftest.py), DCMTK and dciodvfy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers_orthanc import LoadedStudy, load_studies, missing_tools, xray_pixels


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


@pytest.fixture(scope="session")
def studies(orthanc, dcmtk, xrays, tmp_path_factory) -> dict[str, LoadedStudy]:
    """The four studies of `load_studies`, dated 2025-03-14, that no test modifies."""
    return load_studies(orthanc, xrays, tmp_path_factory.mktemp("studies"), "20250314")


@pytest.fixture(scope="session")
def dciodvfy() -> None:
    if missing_tools("dciodvfy"):
        pytest.skip("dciodvfy is not installed (apt-get install dicom3tools)")
