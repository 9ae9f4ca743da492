"""Frozen entry point of the `cxr-desktop` app (and of `cxr` where that is a link to it).

Invoked under the name `cxr` (on Linux the bundle's `cxr` is a symlink to `cxr-desktop`), it
runs the command line instead of the app. With `CXR_DESKTOP_EXIT_AFTER_FIRST_PAINT=1` in the
environment (a measurement and smoke-test hook, used by packaging/measure.py and
tests/packaging), the app prints
`first-paint <seconds since this script started>` once a top-level window has painted its
first frame and exits 0. Without it, this only calls `cxr_desktop.app.main`.
"""

import os
import sys
import time
from pathlib import Path

T0 = time.perf_counter()
HOOK_ENV = "CXR_DESKTOP_EXIT_AFTER_FIRST_PAINT"
_KEEP: list = []  # the hook object lives as long as the process


def _install_first_paint_hook() -> None:
    """Create the QApplication early and quit after the first painted top-level window."""
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication.instance() or QApplication([sys.argv[0]])

    class FirstPaint(QObject):
        done = False

        def eventFilter(self, obj, event):
            if (
                not self.done
                and event.type() == QEvent.Type.Paint
                and isinstance(obj, QWidget)
                and obj.isWindow()
            ):
                self.done = True
                QTimer.singleShot(0, self.report)
            return False

        def report(self):
            print(f"first-paint {time.perf_counter() - T0:.3f}", flush=True)
            app.closeAllWindows()  # the window's closeEvent stops its worker threads
            QTimer.singleShot(5000, lambda: app.exit(0))  # in case a window refused to close

    hook = FirstPaint(app)
    app.installEventFilter(hook)
    _KEEP.append(hook)


if __name__ == "__main__":
    if Path(sys.argv[0]).name == "cxr":
        from cxr_model.cli import main as cli_main

        sys.exit(cli_main())
    if os.environ.get(HOOK_ENV) == "1" and "--selftest" not in sys.argv[1:]:
        _install_first_paint_hook()
    from cxr_desktop.app import main

    sys.exit(main())
