"""Linux installers from the bundle: `dist/cxr-desktop_<version>_amd64.deb` and the portable
`dist/cxr-desktop-<version>-linux-x86_64.tar.gz`.

`python packaging/build_deb.py [--build] [--no-tarball] [--compression xz|gzip|none]`

Needs `dist/cxr-desktop/` from packaging/build.py (`--build` runs it first). The .deb installs
the bundle under /opt/cxr-desktop, launchers /usr/bin/cxr-desktop and /usr/bin/cxr, a desktop
entry and hicolor icons; it depends on the X11/GL/font libraries that the bundle leaves to the
system (see HOST_LIB_PACKAGES). No maintainer scripts: dpkg tracks every file, the app writes
nothing under /opt, and the desktop database and icon caches are refreshed by the file
triggers of desktop-file-utils and hicolor-icon-theme.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import stat
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DIST = ROOT / "dist"
BUNDLE = DIST / "cxr-desktop"
STAGE = ROOT / "build" / "deb"
PACKAGE = "cxr-desktop"
INSTALL_DIR = "opt/cxr-desktop"
ICON_SIZES = (48, 64, 128, 256, 512)
MAINTAINER = "CXR Desktop maintainers <cxr-desktop@users.noreply.github.com>"

# Shared libraries the bundle links but does not carry (left to the system on purpose, see
# packaging/cxr_desktop.spec HOST_LIBS, plus what PyInstaller never bundles: libc, GL) and the
# Debian/Ubuntu package providing each. tests/packaging checks this covers every such library.
HOST_LIB_PACKAGES = {
    "libc.so.6": "libc6 (>= 2.34)",
    "libm.so.6": "libc6 (>= 2.34)",
    "libdl.so.2": "libc6 (>= 2.34)",
    "libpthread.so.0": "libc6 (>= 2.34)",
    "librt.so.1": "libc6 (>= 2.34)",
    "ld-linux-x86-64.so.2": "libc6 (>= 2.34)",
    "libstdc++.so.6": "libstdc++6 (>= 11)",
    "libgcc_s.so.1": "libgcc-s1",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0t64 | libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0t64 | libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libuuid.so.1": "libuuid1",
    "libzstd.so.1": "libzstd1",
}

DESKTOP_ENTRY = """\
[Desktop Entry]
Type=Application
Name=CXR Desktop
GenericName=Chest X-ray Viewer
Comment=Chest X-ray viewer with an AI second reader (research tool, not a medical device)
Exec=cxr-desktop %f
TryExec=cxr-desktop
Icon=cxr-desktop
Terminal=false
Categories=Science;MedicalSoftware;
MimeType=image/jpeg;image/png;application/dicom;
Keywords=x-ray;radiology;dicom;chest;
StartupWMClass=cxr-desktop
"""

LAUNCHER = """\
#!/bin/sh
exec /{install_dir}/{program} "$@"
"""


def sibling(name: str):
    """Load packaging/<name>.py (packaging/ is not a package: `build` would clash on sys.path)."""
    spec = importlib.util.spec_from_file_location(f"cxr_packaging_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def project_version() -> str:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return data["project"]["version"]


def depends() -> str:
    """The Depends field: each package once, in first-seen order."""
    return ", ".join(dict.fromkeys(HOST_LIB_PACKAGES.values()))


def _normalise_modes(root: Path) -> None:
    """Directories 0755, executables 0755, other files 0644 (the model may be 0600 here)."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir():
            path.chmod(0o755)
        else:
            executable = path.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            path.chmod(0o755 if executable else 0o644)


def _tree_size_kib(root: Path) -> int:
    total = sum(p.lstat().st_size for p in root.rglob("*") if p.is_file() or p.is_symlink())
    return (total + 1023) // 1024


def _write_icons(share: Path) -> None:
    source = Image.open(sibling("make_icon").app_icon_png()).convert("RGBA")
    for size in ICON_SIZES:
        out = share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{PACKAGE}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        source.resize((size, size), Image.Resampling.LANCZOS).save(out, optimize=True)


def stage_deb(version: str) -> Path:
    """Lay out the package tree under build/deb/ and return its root."""
    root = STAGE / f"{PACKAGE}_{version}_amd64"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(BUNDLE, root / INSTALL_DIR, symlinks=True)
    bin_dir = root / "usr" / "bin"
    bin_dir.mkdir(parents=True)
    for program in ("cxr-desktop", "cxr"):
        launcher = bin_dir / program
        launcher.write_text(LAUNCHER.format(install_dir=INSTALL_DIR, program=program))
        launcher.chmod(0o755)
    share = root / "usr" / "share"
    (share / "applications").mkdir(parents=True)
    (share / "applications" / f"{PACKAGE}.desktop").write_text(DESKTOP_ENTRY)
    _write_icons(share)
    doc = share / "doc" / PACKAGE
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        "CXR Desktop: MIT License. Bundles Python, Qt/PySide6 (LGPLv3), ONNX Runtime (MIT),\n"
        "NumPy, Pillow, pydicom, pylibjpeg (and libjpeg, OpenJPEG) under their own licenses.\n"
        "Research tool, not a medical device: not for diagnosis.\n"
    )
    _normalise_modes(root)
    debian = root / "DEBIAN"
    debian.mkdir()
    control = (
        f"Package: {PACKAGE}\n"
        f"Version: {version}\n"
        "Section: science\n"
        "Priority: optional\n"
        "Architecture: amd64\n"
        f"Maintainer: {MAINTAINER}\n"
        f"Installed-Size: {_tree_size_kib(root)}\n"
        f"Depends: {depends()}\n"
        "Description: chest X-ray viewer with an AI second reader\n"
        " Desktop viewer for chest X-rays (JPEG, PNG, DICOM) that shows the opinion of\n"
        " an image + report classifier and its Grad-CAM heatmap. Also installs the `cxr`\n"
        " command line (predict, scan, selftest).\n"
        " .\n"
        " Research tool, not a medical device: not for diagnosis.\n"
    )
    (debian / "control").write_text(control)
    debian.chmod(0o755)
    (debian / "control").chmod(0o644)
    return root


def build_deb(version: str, compression: str = "xz") -> Path:
    root = stage_deb(version)
    out = DIST / f"{PACKAGE}_{version}_amd64.deb"
    out.unlink(missing_ok=True)
    command = ["dpkg-deb", "--build", "--root-owner-group", f"-Z{compression}", str(root), str(out)]
    subprocess.run(command, check=True)
    shutil.rmtree(root, ignore_errors=True)  # 250 MB of staging is not worth keeping
    return out


def build_tarball(version: str) -> Path:
    """Portable archive: cxr-desktop-<v>/ = the bundle + share/ (desktop entry, icons)."""
    top = f"{PACKAGE}-{version}"
    out = DIST / f"{top}-linux-x86_64.tar.gz"
    extra = STAGE / "tar-share"
    shutil.rmtree(extra, ignore_errors=True)
    (extra / "applications").mkdir(parents=True)
    (extra / "applications" / f"{PACKAGE}.desktop").write_text(DESKTOP_ENTRY)
    _write_icons(extra)

    def owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        if info.isdir() or info.mode & 0o111:
            info.mode = 0o755
        elif info.isfile():
            info.mode = 0o644
        return info

    with tarfile.open(out, "w:gz", compresslevel=6) as tar:
        tar.add(BUNDLE, arcname=top, filter=owned_by_root)
        tar.add(extra, arcname=f"{top}/share", filter=owned_by_root)
    shutil.rmtree(extra, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="store_true", help="run packaging/build.py first")
    parser.add_argument("--no-tarball", action="store_true", help="only the .deb")
    parser.add_argument(
        "--compression",
        default="xz",
        choices=("xz", "gzip", "none"),
        help="dpkg-deb compression (default xz)",
    )
    args = parser.parse_args(argv)
    if args.build:
        status = sibling("build").main([])
        if status:
            return status
    for name in ("cxr-desktop", "cxr"):
        if not (BUNDLE / name).is_file():
            print(
                f"build_deb.py: {BUNDLE / name} is missing; run packaging/build.py first",
                file=sys.stderr,
            )
            return 1
    if shutil.which("dpkg-deb") is None:
        print("build_deb.py: dpkg-deb not found (apt install dpkg)", file=sys.stderr)
        return 1
    version = project_version()
    print(f"build_deb.py: {build_deb(version, args.compression)}")
    if not args.no_tarball:
        print(f"build_deb.py: {build_tarball(version)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
