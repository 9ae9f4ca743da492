"""Render the toolbar icons the app uses from Tabler Icons SVGs into resources/icons/*.png.

Tabler Icons (MIT, https://tabler.io/icons) is a well-kept open icon set; the app ships only
the PNGs it uses (the bundle carries no SVG plugin) and the licence, shown in Help > About.

    npm pack @tabler/icons@3.52.0 && tar xzf tabler-icons-3.52.0.tgz
    python packaging/render_icons.py package/
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QByteArray, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

from cxr_desktop.icons import ICON_LICENSE, ICON_NAMES, ICON_SET  # noqa: E402

SIZE = 48
COLOUR = "#37474f"


def render(svg: Path, out: Path) -> None:
    data = svg.read_text(encoding="utf-8").replace("currentColor", COLOUR)
    renderer = QSvgRenderer(QByteArray(data.encode("utf-8")))
    if not renderer.isValid():
        raise SystemExit(f"cannot render {svg}")
    image = QImage(SIZE, SIZE, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(out), "PNG"):
        raise SystemExit(f"cannot write {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="the unpacked @tabler/icons npm package")
    args = parser.parse_args()
    version = json.loads((args.package / "package.json").read_text())["version"]
    if f"Tabler Icons {version}" != ICON_SET:
        raise SystemExit(f"the package is {version}; cxr_desktop.icons says {ICON_SET}")
    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - QPainter needs it
    out = ROOT / "resources" / "icons"
    out.mkdir(parents=True, exist_ok=True)
    for name in ICON_NAMES:
        render(args.package / "icons" / "outline" / f"{name}.svg", out / f"{name}.png")
    shutil.copy(args.package / "LICENSE", out / ICON_LICENSE)
    print(f"wrote {len(ICON_NAMES)} icons and {ICON_LICENSE} to {out}")


if __name__ == "__main__":
    main()
