"""Save the screenshots in docs/ (offscreen Qt): the main window on a DICOM study, the tag
browser, an adult X-ray outside the model's population, the batch scan.

Run with the venv python: `.venv/bin/python docs/make_screenshots.py`. Uses the shipped model
in resources/models/paediatric, or, when none is installed, builds the untrained test fixture model
(needs torch; the app itself never imports it) — the screenshots then say "demo model".
The DICOM files are the shipped sample X-rays with made-up header values (patient "Demo",
a pixel spacing for the ruler): they show what the app does, not real patients.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from PySide6.QtCore import QCoreApplication, QEventLoop, QPointF, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from cxr_desktop.main_window import MainWindow  # noqa: E402
from cxr_desktop.settings import AppSettings  # noqa: E402
from cxr_model.inference.predictor import load_model  # noqa: E402

SAMPLES = ROOT / "resources" / "samples"
DOCS = ROOT / "docs"
STUDY = "1.2.826.0.1.3680043.10.543.1"
HEADER = dict(
    PatientName="Demo^Sample",
    PatientID="DEMO-0001",
    PatientSex="M",
    InstitutionName="Sample X-rays (Kermany et al.)",
    Modality="CR",
    ImagerPixelSpacing=["0.2", "0.2"],
)


def wait_until(condition, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there in time")
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.01)


def settle(seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.01)


def model_dir(scratch: Path) -> Path:
    shipped = ROOT / "resources" / "models" / "paediatric"
    if (shipped / "model_card.json").is_file():
        return shipped
    from conftest import build_fixture_model

    return build_fixture_model(scratch / "model")


def make_study(folder: Path) -> Path:
    """A two-series study and an adult X-ray, as DICOM files made from the samples."""
    from helpers_dicom_header import write_dicom

    folder.mkdir()
    common = dict(
        HEADER,
        StudyInstanceUID=STUDY,
        StudyDate="20240301",
        StudyTime="0915",
        StudyDescription="CHEST AP",
        PatientAge="004Y",
        ViewPosition="AP",
    )
    write_dicom(
        folder / "ap.dcm",
        SAMPLES / "person1946_bacteria_4874.jpeg",
        **common,
        SeriesInstanceUID=STUDY + ".1",
        SeriesNumber=1,
        SeriesDescription="AP",
    )
    write_dicom(
        folder / "ap-repeat.dcm",
        SAMPLES / "person1951_bacteria_4882.jpeg",
        **common,
        SeriesInstanceUID=STUDY + ".2",
        SeriesNumber=2,
        SeriesDescription="AP repeat",
    )
    adult = folder.parent / "adult.dcm"
    write_dicom(
        adult,
        SAMPLES / "NORMAL2-IM-1427-0001.jpeg",
        **dict(
            HEADER,
            PatientAge="045Y",
            StudyDescription="CHEST PA",
            ViewPosition="PA",
            StudyDate="20240302",
        ),
    )
    return adult


def measure(window: MainWindow, points: list[QPointF]) -> None:
    """A distance measurement, as a user drags it."""
    from PySide6.QtTest import QTest

    viewer = window.view.viewer
    window.measure.distance_action.trigger()
    port = viewer.viewport()
    spots = [viewer.mapFromScene(p) for p in points]
    QTest.mousePress(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, spots[0])
    QTest.mouseRelease(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, spots[1])
    window.measure.pan_action.trigger()


def main() -> None:
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        adult = make_study(scratch / "demo-study")
        factory = partial(load_model, model_dir(scratch))
        window = MainWindow(AppSettings(scratch / "settings.ini"), factory)
        window.report.ask_save_changes = lambda: QMessageBox.StandardButton.Discard
        window.resize(1500, 920)
        window.show()
        session = window.session
        wait_until(lambda: session.card is not None or session.model_error is not None)
        if session.model_error:
            raise SystemExit(session.model_error)

        window.study.show_folder(scratch / "demo-study", open_first=True)
        panel = window.study.panel
        wait_until(
            lambda: len(panel.images) == 2 and all("%" in panel.status_of(p) for p in panel.images)
        )
        wait_until(lambda: session.prediction is not None)
        window.heatmap.action.setChecked(True)
        wait_until(lambda: window.view.viewer.overlay_item.isVisible())
        settle()
        width = window.view.viewer.image.original_size[0]
        measure(window, [QPointF(width * 0.28, 330), QPointF(width * 0.72, 330)])
        settle()
        window.grab().save(str(DOCS / "screenshot-main.png"))

        window.heatmap.action.setChecked(False)
        window.study.dock.hide()
        window.tags.dock.show()
        window.tags.browser.search.setText("Patient")
        settle()
        window.grab().save(str(DOCS / "screenshot-tags.png"))
        window.tags.dock.hide()

        window.files.open_image(adult)
        wait_until(
            lambda: (
                session.study is not None
                and session.study.path == adult
                and session.prediction is not None
            )
        )
        settle()
        window.inference.panel.grab().save(str(DOCS / "screenshot-population.png"))

        dialog = window.batch.open_dialog()
        dialog.resize(1120, 620)
        os.chdir(ROOT)  # the folder as a user types it, relative
        dialog.folder_edit.setText(str(SAMPLES.relative_to(ROOT)))
        dialog.csv_edit.setText(str(scratch / "cxr-scan.csv"))
        dialog.start()
        wait_until(lambda: not dialog.running)
        dialog.table.resizeColumnsToContents()
        app.processEvents()
        dialog.grab().save(str(DOCS / "screenshot-batch.png"))
        window.close()


if __name__ == "__main__":
    main()
