"""Draw the application icon with Pillow: packaging/icons/cxr-desktop.{png,ico,icns}.

`python packaging/make_icon.py [--force]` — a dark rounded tile with a stylised rib cage and
a cyan dot (the AI second reader). The outputs are committed; the build scripts call
`ensure_icons()`, which draws them only when they are missing. If resources/icons/ holds a
`cxr-desktop.png`, the installers use that one instead (see `app_icon_png`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "packaging" / "icons"
PNG = ICONS / "cxr-desktop.png"
ICO = ICONS / "cxr-desktop.ico"
ICNS = ICONS / "cxr-desktop.icns"
SIZE = 512


def draw(size: int = SIZE) -> Image.Image:
    """The icon as an RGBA image of size x size pixels."""
    scale = 4  # draw large, downsample: smooth edges without anti-aliasing support
    s = size * scale
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    margin = s // 16
    d.rounded_rectangle(
        (margin, margin, s - margin, s - margin), radius=s // 6, fill=(22, 30, 44, 255)
    )
    cx = s // 2
    bone = (226, 232, 240, 255)
    # spine
    d.rounded_rectangle((cx - s // 40, s * 0.20, cx + s // 40, s * 0.80), radius=s // 80, fill=bone)
    # ribs: pairs of arcs, narrowing towards the top
    for i in range(6):
        top = s * (0.24 + i * 0.085)
        half = s * (0.16 + 0.035 * min(i, 3))
        height = s * 0.16
        width = s // 55
        d.arc(
            (cx - half - s * 0.04, top, cx + s * 0.01, top + height),
            190,
            300,
            fill=bone,
            width=width,
        )
        d.arc(
            (cx - s * 0.01, top, cx + half + s * 0.04, top + height),
            240,
            350,
            fill=bone,
            width=width,
        )
    # the second reader
    r = s * 0.075
    ax, ay = s * 0.74, s * 0.74
    d.ellipse((ax - r * 1.35, ay - r * 1.35, ax + r * 1.35, ay + r * 1.35), fill=(22, 30, 44, 255))
    d.ellipse((ax - r, ay - r, ax + r, ay + r), fill=(34, 211, 238, 255))
    img = img.filter(ImageFilter.GaussianBlur(scale / 3))
    return img.resize((size, size), Image.Resampling.LANCZOS)


def ensure_icons(force: bool = False) -> Path:
    """Write the PNG/ICO/ICNS icons if missing (or force); returns the PNG path."""
    ICONS.mkdir(parents=True, exist_ok=True)
    if force or not PNG.is_file():
        draw().save(PNG, optimize=True)
    if force or not ICO.is_file():
        Image.open(PNG).save(
            ICO, sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]
        )
    if force or not ICNS.is_file():
        try:
            Image.open(PNG).save(ICNS)
        except (OSError, ValueError) as exc:  # Pillow builds without ICNS writing
            print(f"make_icon.py: no .icns ({exc})")
    return PNG


def app_icon_png() -> Path:
    """resources/icons/cxr-desktop.png if the project ships one, else the packaging icon."""
    shipped = ROOT / "resources" / "icons" / "cxr-desktop.png"
    return shipped if shipped.is_file() else ensure_icons()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="redraw even if present")
    args = parser.parse_args(argv)
    print(ensure_icons(force=args.force))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
