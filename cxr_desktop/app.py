"""`cxr-desktop [IMAGE] [--model DIR] [--precision P]`: start the desktop app."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from cxr_desktop.main_window import MainWindow
from cxr_desktop.model_factory import model_factory, startup_model_dir
from cxr_desktop.settings import APPLICATION, ORGANIZATION, AppSettings
from cxr_model.vocabulary import Precision, choices


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="cxr-desktop",
        description="Chest X-ray viewer with an AI second reader. Not a medical device.",
    )
    parser.add_argument("image", nargs="?", type=Path, help="X-ray to open")
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="one model folder, forced for every image (default: $CXR_MODEL_DIR, else the "
        "folder opened last with Model > Open model folder…, else the installed models, "
        "chosen per image)",
    )
    parser.add_argument(
        "--precision",
        choices=choices(Precision),
        default=None,
        help="model precision (default: the saved setting, else auto: int8 "
        "when its accuracy gates passed); saved for the next runs",
    )
    parser.add_argument(
        "--selftest",
        action="store_true",
        help="check the installation headlessly, print one line and exit",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the app until its window closes; returns the exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.selftest:  # headless: no Qt object is created
        from cxr_model.inference.selftest import run_selftest

        return run_selftest(args.model, args.precision or Precision.AUTO)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    settings = AppSettings()
    if args.precision is not None:
        settings.set_precision(args.precision)
    window = MainWindow(
        settings, model_factory(startup_model_dir(args.model, settings), settings.precision())
    )
    window.show()
    if args.image is not None:
        window.files.open_image(args.image)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
