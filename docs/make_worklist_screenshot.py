"""Save docs/screenshot-worklist.png: the Worklist panel fed by the app's own listener, with
verdicts given (offscreen).

Run with the venv python: `.venv/bin/python docs/make_worklist_screenshot.py`. Starts
Worklist > Start receiving… on a free 127.0.0.1 port, sends six studies made from the real
X-rays in ../shared/data/fullres with DCMTK storescu, opens two rows, agrees with one result
and disagrees with another (verdicts in a scratch database), and grabs the window.
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

from helpers_orthanc import free_port, storescu, write_study, xray_pixels  # noqa: E402
from make_screenshots import model_dir, settle, wait_until  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from cxr_desktop.main_window import MainWindow  # noqa: E402
from cxr_desktop.settings import AppSettings  # noqa: E402
from cxr_model.feedback.store import ENV_DB  # noqa: E402
from cxr_model.inference.predictor import load_model  # noqa: E402

FULLRES = ROOT.parent / "shared" / "data" / "fullres"
#: (patient ID, name, age, image number in fullres, views)
STUDIES = (
    ("DEMO-0412", "Doe^Jane", "003Y", 8, (("CR", "PA"), ("CR", "LL"))),
    ("DEMO-0413", "Roe^Alex", "004Y", 0, (("DX", "AP"),)),
    ("DEMO-0414", "Poe^Sam", "002Y", 10, (("CR", "PA"),)),
    ("DEMO-0415", "Moe^Kim", "005Y", 3, (("DX", "AP"),)),
    ("DEMO-0416", "Loe^Ray", "034Y", 12, (("DX", "AP"),)),
    ("DEMO-0417", "Hoe^Lee", "004Y", 5, (("CR", "LL"),)),
)


def main() -> None:
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        os.environ[ENV_DB] = str(scratch / "verdicts.sqlite")
        images = sorted(FULLRES.glob("*.jpeg"))
        files = []
        for patient, name, age, number, views in STUDIES:
            files += write_study(
                scratch / patient,
                xray_pixels(images[number]),
                patient,
                views=views,
                PatientName=name,
                PatientAge=age,
                AccessionNumber=f"ACC{patient[-4:]}",
            )
        window = MainWindow(
            AppSettings(scratch / "settings.ini"), partial(load_model, model_dir(scratch))
        )
        window.report.ask_save_changes = lambda: QMessageBox.StandardButton.Discard
        window.resize(1500, 980)
        window.show()
        feature, panel = window.worklist, window.worklist.panel
        port = free_port()
        feature.start_receiving(scratch / "received", port, "CXRDESKTOP", ["LOADER"])
        wait_until(feature.stop_action.isEnabled)
        assert storescu(port, files, called="CXRDESKTOP").returncode == 0
        wait_until(lambda: len(panel.rows) == len(STUDIES))
        for position, agree in ((0, True), (2, False)):
            row = panel.shown()[position]
            panel.open_requested.emit(row)
            wait_until(lambda r=row: window.session.study is not None
                       and window.session.study.path == feature.folder / r.image)  # fmt: skip
            wait_until(lambda: window.session.prediction is not None)
            (window.verdict.agree_action if agree else window.verdict.disagree_action).trigger()
            wait_until(lambda r=row: panel.text_of(r.study_uid, "Verdict") != "")
        panel.table.resizeColumnsToContents()
        panel.table.selectRow(2)
        settle(1.0)
        out = ROOT / "docs" / "screenshot-worklist.png"
        window.grab().save(str(out))
        print(f"wrote {out.relative_to(ROOT)}: {panel.title.text()}")
        window.close()
    app.quit()


if __name__ == "__main__":
    main()
