"""Worker: start the desktop app offscreen and time the main window's first paint.

`python -m benchmarks.app_probe --t0 MONOTONIC --json-out F [--open IMAGE]`

`--t0` is `time.monotonic()` taken by the parent just before it launched this process
(CLOCK_MONOTONIC is system-wide on Linux), so the figure includes interpreter start and
every import. The probe imports `cxr_desktop`, finds `MainWindow`, shows it and records the
first Paint event the window receives; `first_frame_s` is when that first frame has been
fully painted (the next turn of the event loop). With `--open`, it then opens an X-ray via
the window's open method, waits for the image, the prediction and the heatmap to appear,
and records RSS. Anything it cannot find is reported as {"skipped": reason}.
"""

from __future__ import annotations

import time

T_MAIN = time.monotonic()  # before any heavy import

import argparse  # noqa: E402
import importlib  # noqa: E402
import inspect  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Callable  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks.common import status_mb, write_json  # noqa: E402

WINDOW_MODULES = (
    "cxr_desktop.app",
    "cxr_desktop.main_window",
    "cxr_desktop.mainwindow",
    "cxr_desktop.window",
)
OPEN_METHODS = (
    "open_path",
    "open_file",
    "open_image",
    "open_study",
    "load_path",
    "load_file",
    "load_image",
    "open",
)


def find_window_class() -> tuple[type | None, str]:
    """(MainWindow class, where) or (None, why not); $CXR_BENCH_WINDOW=module:Class overrides."""
    override = os.environ.get("CXR_BENCH_WINDOW")
    if override:
        module_name, _, class_name = override.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), class_name or "MainWindow")
        except Exception as exc:
            return None, f"CXR_BENCH_WINDOW={override}: {type(exc).__name__}: {exc}"
        return cls, override
    tried = []
    for name in WINDOW_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                return None, f"importing {name} failed: {exc}"
            tried.append(name)
            continue
        except Exception as exc:  # a module being written may not import yet
            return None, f"importing {name} failed: {type(exc).__name__}: {exc}"
        cls = getattr(module, "MainWindow", None)
        if isinstance(cls, type):
            return cls, f"{name}.MainWindow"
        tried.append(f"{name} (no MainWindow)")
    return None, "no MainWindow class found in " + ", ".join(tried)


def make_window(cls: type, model_dir: str | None) -> tuple[Any, str]:
    """Instantiate the window, filling the required parameters it is known to take."""
    from cxr_model.inference.predictor import load_model

    directory = Path(model_dir) if model_dir else None
    known: dict[str, Callable[[], Any]] = {
        "model_dir": lambda: directory,
        "model_directory": lambda: directory,
        # what cxr_desktop.app.main passes: partial(load_model, args.model)
        "factory": lambda: partial(load_model, directory),
        "model_factory": lambda: partial(load_model, directory),
    }

    def settings() -> Any:
        from cxr_desktop.settings import AppSettings

        folder = tempfile.mkdtemp(
            prefix="cxr-bench-settings-", dir=os.environ.get("XDG_CONFIG_HOME")
        )
        return AppSettings(Path(folder) / "settings.ini")

    known["settings"] = settings
    kwargs, missing = {}, []
    for param in inspect.signature(cls).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.default is not param.empty:
            if param.name == "settings":
                kwargs[param.name] = settings()
            continue
        if param.name in known:
            kwargs[param.name] = known[param.name]()
        else:
            missing.append(param.name)
    if missing:
        raise TypeError(f"MainWindow needs parameters the probe cannot supply: {missing}")
    return cls(**kwargs), f"MainWindow({', '.join(kwargs)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--t0", type=float, required=True)
    parser.add_argument("--open", type=Path)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--json-out", type=Path, required=True)
    args = parser.parse_args()
    t0 = args.t0
    result: dict[str, Any] = {"interpreter_s": T_MAIN - t0}

    def finish(code: int = 0) -> None:
        write_json(args.json_out, result)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # no teardown surprises from half-built windows or worker threads

    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication(sys.argv[:1])
    try:  # as cxr_desktop.app.main does
        from cxr_desktop.settings import APPLICATION, ORGANIZATION

        app.setOrganizationName(ORGANIZATION)
        app.setApplicationName(APPLICATION)
    except Exception:
        pass
    result["qt_import_app_s"] = time.monotonic() - t0
    QTimer.singleShot(
        int(args.timeout * 1000),
        lambda: (result.update(error=f"timed out after {args.timeout:.0f} s"), finish(0)),
    )

    cls, where = find_window_class()
    result["imports_s"] = time.monotonic() - t0
    if cls is None:
        result["skipped"] = where
        finish(0)
    result["window_class"] = where
    try:
        window, call = make_window(cls, os.environ.get("CXR_MODEL_DIR"))
    except Exception as exc:
        result["skipped"] = f"cannot construct {where}: {type(exc).__name__}: {exc}"
        finish(0)
    result["constructed_as"] = call
    state = getattr(window, "session", window)  # the window's shared state (study, result)
    files = getattr(window, "files", window)  # the feature that opens files
    result["constructed_s"] = time.monotonic() - t0

    class FirstPaint(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.seen = False

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if (
                not self.seen
                and event.type() == QEvent.Type.Paint
                and isinstance(obj, QWidget)
                and obj.window() is window
            ):
                self.seen = True
                result["first_paint_s"] = time.monotonic() - t0
                QTimer.singleShot(0, first_frame_done)
            return False

    def first_frame_done() -> None:
        result["first_frame_s"] = time.monotonic() - t0
        result["rss_after_start_mb"] = status_mb("VmRSS")
        if args.open is None:
            finish(0)
        wait_for_model()

    def wait_for_model() -> None:
        """Open the X-ray once the window says its model is loaded (`card`), or after 20 s."""
        now = time.monotonic() - t0
        if getattr(state, "card", None) is not None or getattr(state, "model_error", None):
            result["model_ready_s"] = now
            result["rss_model_ready_mb"] = status_mb("VmRSS")
        elif now < result["first_frame_s"] + 20.0 and hasattr(state, "card"):
            QTimer.singleShot(20, wait_for_model)
            return
        open_image()

    def open_image() -> None:
        method = next(
            (
                getattr(owner, name)
                for owner in (files, window)
                for name in OPEN_METHODS
                if callable(getattr(owner, name, None))
            ),
            None,
        )
        if method is None:
            result["open_skipped"] = f"MainWindow has none of {OPEN_METHODS}"
            finish(0)
        result["open_method"] = method.__name__
        try:
            from cxr_desktop.panels.result_panel import ResultPanel
            from cxr_desktop.viewer.view import XrayViewer
        except Exception:
            viewers, panels = [], []
        else:
            viewers = window.findChildren(XrayViewer)
            panels = window.findChildren(ResultPanel)
        opened = time.monotonic()
        method(Path(args.open))
        marks: dict[str, float] = {}

        def poll() -> None:
            now = time.monotonic() - opened
            if "image_shown_s" not in marks and any(v.image is not None for v in viewers):
                marks["image_shown_s"] = now
            if "prediction_shown_s" not in marks and (
                getattr(state, "prediction", None) is not None
                or any(getattr(p, "prediction", None) is not None for p in panels)
            ):
                marks["prediction_shown_s"] = now
            if "heatmap_shown_s" not in marks and any(v.heat is not None for v in viewers):
                marks["heatmap_shown_s"] = now
            action = getattr(getattr(window, "heatmap", None), "action", None)
            if (
                "prediction_shown_s" in marks
                and "heatmap_shown_s" not in marks
                and action is not None
                and not action.isChecked()
            ):
                action.trigger()  # the user presses H: the app computes heatmaps on demand
                result["heatmap_toggled_by_probe_at_s"] = now
            done = {"image_shown_s", "prediction_shown_s", "heatmap_shown_s"} <= marks.keys()
            grace = "prediction_shown_s" in marks and now - marks["prediction_shown_s"] > 5.0
            blind = not viewers and not panels and now > 5.0  # nothing to watch: settle 5 s
            if done or grace or blind or now > args.timeout / 2:
                result.update(marks)
                result["rss_after_open_mb"] = status_mb("VmRSS")
                result["peak_rss_mb"] = status_mb("VmHWM")
                if not viewers or not panels:
                    result["open_note"] = "no XrayViewer/ResultPanel child to watch"
                finish(0)
            QTimer.singleShot(20, poll)

        poll()

    watcher = FirstPaint()
    app.installEventFilter(watcher)
    window.show()
    result["shown_s"] = time.monotonic() - t0
    app.exec()
    result.setdefault("error", "event loop ended before the first paint")
    finish(0)


if __name__ == "__main__":
    main()
