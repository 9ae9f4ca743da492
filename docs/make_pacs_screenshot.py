"""Save docs/screenshot-pacs.png: File > Open from PACS searching a real Orthanc (offscreen).

Run with the venv python: `.venv/bin/python docs/make_pacs_screenshot.py`. Starts Orthanc on
127.0.0.1 (tests/helpers_orthanc.py), loads three studies made from the real X-rays in
../shared/data/fullres, searches them in the dialog, retrieves one and grabs the dialog.
"""

from __future__ import annotations

import os
import sys
import tempfile
from functools import partial
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "docs")]

from helpers_orthanc import start_orthanc, storescu, write_study, xray_pixels  # noqa: E402
from make_screenshots import model_dir, wait_until  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from cxr_desktop.main_window import MainWindow  # noqa: E402
from cxr_desktop.settings import AppSettings  # noqa: E402
from cxr_model.inference.predictor import load_model  # noqa: E402

FULLRES = ROOT.parent / "shared" / "data" / "fullres"
STUDIES = (
    ("DEMO-0412", "Doe^Jane", "20250314", (("CR", "PA"), ("CR", "LL"))),
    ("DEMO-0413", "Roe^Alex", "20250315", (("DX", "AP"),)),
    ("DEMO-0415", "Poe^Sam", "20250317", (("CR", "PA"),)),
)


def main() -> None:
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        orthanc = start_orthanc(scratch / "orthanc")
        try:
            images = sorted(FULLRES.glob("*.jpeg"))
            files = []
            for number, (patient, name, date, views) in enumerate(STUDIES):
                files += write_study(
                    scratch / patient,
                    xray_pixels(images[number]),
                    patient,
                    views=views,
                    PatientName=name,
                    StudyDate=date,
                    StudyDescription="XR CHEST 2 VIEWS" if len(views) > 1 else "XR CHEST 1 VIEW",
                )
            assert storescu(orthanc.dicom_port, files).returncode == 0
            settings = AppSettings(scratch / "settings.ini")
            settings.set_pacs_nodes(
                [
                    {"name": "Radiology PACS", "address": orthanc.dimse},
                    {"name": "Radiology PACS (DICOMweb)", "address": orthanc.web},
                ]
            )
            window = MainWindow(settings, partial(load_model, model_dir(scratch)))
            window.report.ask_save_changes = lambda: QMessageBox.StandardButton.Discard
            window.pacs.cache_dir = scratch / "cache"
            window.show()
            dialog = window.pacs.open_dialog()
            dialog.patient_id.setText("DEMO-*")
            dialog.search()
            wait_until(lambda: not dialog.busy)
            dialog.table.resizeColumnsToContents()
            dialog.table.selectRow(0)
            dialog.retrieve()
            wait_until(lambda: not dialog.busy)
            out = ROOT / "docs" / "screenshot-pacs.png"
            dialog.grab().save(str(out))
            print(f"wrote {out.relative_to(ROOT)}: {dialog.status.text()}")
            window.close()
        finally:
            orthanc.stop()
    app.quit()


if __name__ == "__main__":
    main()
