"""Fixtures for the desktop app tests: isolated settings, a model factory, a ready window."""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

import pytest
from desktop_helpers import new_window
from PySide6.QtCore import QSettings

from cxr_desktop.main_window import MainWindow
from cxr_desktop.settings import AppSettings
from cxr_model.feedback.store import ENV_DB
from cxr_model.inference.predictor import load_model


@pytest.fixture(autouse=True)
def isolated_qsettings(tmp_path, qapp, monkeypatch):
    """Even a default-constructed QSettings writes under tmp_path, never the user's; so do
    the verdicts (the database the app would keep in the user's data folder)."""
    monkeypatch.setenv(ENV_DB, str(tmp_path / "verdicts.sqlite"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(tmp_path / "qsettings"))
    yield


@pytest.fixture
def settings(tmp_path) -> AppSettings:
    return AppSettings(tmp_path / "settings.ini")


@pytest.fixture
def factory(model_dir):
    """Makes a fresh Model (called in the worker threads)."""
    return partial(load_model, model_dir)


@pytest.fixture
def window(qtbot, settings, factory) -> MainWindow:
    return new_window(qtbot, settings, factory)


@pytest.fixture
def fullres(fullres_images) -> Path:
    return fullres_images[0]


@pytest.fixture
def sample_with_report(sample_images) -> Path:
    return next(p for p in sample_images if p.with_suffix(".txt").is_file())


@pytest.fixture
def sample_without_report(sample_images) -> Path:
    return next(p for p in sample_images if not p.with_suffix(".txt").is_file())


@pytest.fixture
def study_copy(tmp_path, sample_with_report) -> Path:
    """A writable copy of a sample image and its report."""
    folder = tmp_path / "study"
    folder.mkdir()
    shutil.copy(sample_with_report, folder)
    shutil.copy(sample_with_report.with_suffix(".txt"), folder)
    return folder / sample_with_report.name
