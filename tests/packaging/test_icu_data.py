"""The bundle's trimmed ICU data (packaging/icu_data.py) still collates like the full data:
Qt's file dialog sorts names with QCollator in numeric mode."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
from PySide6.QtCore import QCollator, QLocale
c = QCollator(QLocale("de_DE"))
print(c.compare("äpfel", "zebra") < 0)
c.setNumericMode(True)
print(c.compare("IM-10", "IM-9") > 0)
"""


def _icu_data():
    spec = importlib.util.spec_from_file_location(
        "cxr_packaging_icu_data", ROOT / "packaging" / "icu_data.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _collate(library_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, LD_LIBRARY_PATH=str(library_dir), QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux bundle step")
def test_trimmed_icu_data_is_small_and_still_collates(tmp_path):
    if not (shutil.which("cc") and shutil.which("readelf")):
        pytest.skip("needs a C compiler and readelf (build-essential, binutils)")
    import PySide6

    [original] = sorted((Path(PySide6.__file__).parent / "Qt" / "lib").glob("libicudata.so.*"))
    lib = tmp_path / original.name
    shutil.copyfile(original, lib)
    before, after = _icu_data().trim(lib)
    assert before == original.stat().st_size and after < before / 3
    result = _collate(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"], result.stdout + result.stderr
    assert "Could not create collator" not in result.stderr
