"""Save docs/screenshot-main.png and docs/screenshot-batch.png (offscreen Qt).

Run with the venv python: `.venv/bin/python docs/make_screenshots.py`. Uses the shipped model
in resources/model, or, when none is installed, builds the untrained test fixture model
(needs torch; the app itself never imports it) — the screenshots then say "demo model".
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

from PySide6.QtCore import QCoreApplication, QEventLoop  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from cxr_desktop.main_window import MainWindow  # noqa: E402
from cxr_desktop.settings import AppSettings  # noqa: E402
from cxr_model.inference.predictor import load_model  # noqa: E402

SAMPLES = ROOT / "resources" / "samples"


def wait_until(condition, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there in time")
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.01)


def model_dir(scratch: Path) -> Path:
    shipped = ROOT / "resources" / "model"
    if (shipped / "model_card.json").is_file():
        return shipped
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import build_fixture_model

    return build_fixture_model(scratch / "model")


def main() -> None:
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        factory = partial(load_model, model_dir(scratch))
        window = MainWindow(AppSettings(scratch / "settings.ini"), factory)
        window.report.ask_save_changes = lambda: QMessageBox.StandardButton.Discard
        window.resize(1400, 900)
        window.show()
        session = window.session
        wait_until(lambda: session.card is not None or session.model_error is not None)
        if session.model_error:
            raise SystemExit(session.model_error)
        image = next(p for p in sorted(SAMPLES.glob("*.jpeg")) if p.with_suffix(".txt").exists())
        window.files.open_image(image)
        wait_until(lambda: session.prediction is not None)
        window.heatmap.action.setChecked(True)
        wait_until(lambda: window.view.viewer.overlay_item.isVisible())
        app.processEvents()
        window.grab().save(str(ROOT / "docs" / "screenshot-main.png"))

        dialog = window.batch.open_dialog()
        dialog.folder_edit.setText(str(SAMPLES))
        dialog.csv_edit.setText(str(scratch / "cxr-scan.csv"))
        dialog.start()
        wait_until(lambda: not dialog.running)
        dialog.table.resizeColumnsToContents()
        app.processEvents()
        dialog.grab().save(str(ROOT / "docs" / "screenshot-batch.png"))
        window.close()


if __name__ == "__main__":
    main()
