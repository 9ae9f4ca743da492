"""`cxr-desktop --selftest` runs headless: no display, no Qt platform plugin needed."""

from __future__ import annotations

import os
import subprocess
import sys


def test_selftest_without_display(model_dir):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    env["CXR_MODEL_DIR"] = str(model_dir)
    result = subprocess.run(
        [sys.executable, "-m", "cxr_desktop.app", "--selftest"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("selftest ok:")


def test_selftest_reports_a_missing_model(tmp_path):
    env = {**os.environ, "CXR_MODEL_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "cxr_desktop.app", "--selftest"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "no model is installed" in result.stderr
