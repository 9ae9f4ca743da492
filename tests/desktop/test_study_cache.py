"""The cache of retrieved studies: private folders and files after a real retrieve from
Orthanc, PACS settings show its size and clear it, and at start it loses studies older than
the settings' age and then the oldest until it is under the limit."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
import test_pacs
from desktop_helpers import WAIT_MS
from PySide6.QtCore import Qt
from test_pacs import search, stored_study

from cxr_desktop.study_cache import StudyCache, human_size

pacs_window = test_pacs.pacs_window  # the window with the test Orthanc as a node


def fake_study(root: Path, uid: str, size: int, age_days: float) -> Path:
    """A cached study folder with one file of `size` bytes, retrieved `age_days` ago."""
    folder = root / uid / "1.2.3"
    folder.mkdir(parents=True)
    path = folder / "1.2.3.4.dcm"
    path.write_bytes(b"\0" * size)
    when = time.time() - age_days * 86400
    for item in (path, folder, folder.parent):
        os.utime(item, (when, when))
    return folder.parent


def test_trim_removes_the_oldest_first_and_keeps_the_newest(tmp_path):
    cache = StudyCache(tmp_path / "cache")
    assert cache.studies() == [] and cache.size() == 0  # no folder yet
    old, middle, new = (
        fake_study(cache.root, f"1.{n}", 1000, age) for n, age in enumerate((5, 3, 1))
    )
    assert [s.folder for s in cache.studies()] == [old, middle, new]
    assert cache.trim(2500) == 1 and not old.exists() and middle.exists()
    assert cache.trim(500, keep=middle.name) == 1 and middle.exists() and not new.exists()
    assert cache.size() == 1000
    assert cache.clear() == 1 and cache.size() == 0


def test_at_start_old_studies_go_then_the_oldest_over_the_limit(qtbot, window, settings, tmp_path):
    root = tmp_path / "cache"
    stale = fake_study(root, "1.1", 100, 40)
    older, newer = fake_study(root, "1.2", 3000, 2), fake_study(root, "1.3", 3000, 1)
    os.chmod(root, 0o755)
    settings.set_cache_max_age_days(30)
    settings.set_cache_limit_bytes(4000)
    window.pacs.cache_dir = root
    window.pacs.tidy().join(timeout=30)
    assert not stale.exists() and not older.exists() and newer.exists()
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


@pytest.mark.usefixtures("orthanc")
def test_a_retrieved_study_is_private_and_settings_measure_and_clear_it(
    qtbot, pacs_window, orthanc, settings, tmp_path, fullres_images
):
    [ds] = stored_study(orthanc, tmp_path, fullres_images, "CXRT-CACHE", (("CR", "PA"),))
    dialog = pacs_window.pacs.open_dialog()
    search(qtbot, dialog, "CXRT-CACHE")
    with qtbot.waitSignal(pacs_window.pacs.cache_measured, timeout=WAIT_MS):
        dialog.retrieve()
    cache = pacs_window.pacs.cache_dir
    files = list(cache.rglob("*.dcm"))
    assert [f.stem for f in files] == [ds.SOPInstanceUID]
    for path in [cache, *cache.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
    size = files[0].stat().st_size
    with qtbot.waitSignal(pacs_window.pacs.cache_measured, timeout=WAIT_MS):
        settings_dialog = pacs_window.pacs.open_settings()
    assert settings_dialog.size_label.text() == human_size(size)
    assert settings_dialog.limit_spin.value() == pytest.approx(2.0)  # the default, GB
    with qtbot.waitSignal(pacs_window.pacs.cache_measured, timeout=WAIT_MS):
        qtbot.mouseClick(settings_dialog.clear_button, Qt.MouseButton.LeftButton)
    assert settings_dialog.size_label.text() == "0 bytes"
    assert not list(cache.rglob("*.dcm"))
    settings_dialog.limit_spin.setValue(0.5)
    settings_dialog.accept()
    assert settings.cache_limit_bytes() == 512 * 1024**2
