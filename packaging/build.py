"""Build the one-folder bundle `dist/cxr-desktop/` (programs `cxr-desktop` and `cxr`).

`python packaging/build.py [--model-dir DIR] [--clean]`

Runs PyInstaller on packaging/cxr_desktop.spec with a persistent work folder
(build/pyinstaller) so that rebuilds reuse the analysis cache. The bundle ships every model
folder of resources/models (each as resources/models/NAME) unless --model-dir (or
$CXR_BUNDLE_MODEL_DIR) names another models folder or one model folder, each at the precision
`auto` runs (the int8 model when its gates passed, else the fp32 graph and its weights); the
build stops with exit status 3 when a folder lacks a trained, verified model (no untrained
weights are shipped).
Exit status: 0 built, 1 PyInstaller failed, 3 no model.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "cxr_desktop.spec"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
BUNDLE = DIST / "cxr-desktop"
MODELS = ROOT / "resources" / "models"
CARD = "model_card.json"
EXIT_NO_MODEL = 3


def exe_name(name: str) -> str:
    return name + ".exe" if sys.platform == "win32" else name


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _is_elf(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"\x7fELF"


def _loads(path: Path) -> bool:
    """True when the dynamic loader accepts the shared object (dlopen in a fresh process)."""
    result = subprocess.run(
        [sys.executable, "-c", "import ctypes, sys; ctypes.CDLL(sys.argv[1])", str(path)],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def strip_symbols(bundle: Path) -> int:
    """`strip --strip-unneeded` the bundle's shared objects where it is safe; returns bytes saved.

    Debug sections and the static symbol table go; the dynamic symbols the loader and Python
    need stay. PyInstaller's own strip option is not used: stripping the auditwheel-patched
    libraries of the wheels (numpy.libs/, pillow.libs/, ...) breaks them ("ELF load command
    address/offset not page-aligned"). Files inside a *.libs folder are left alone, and so are
    the executables (their archive is appended to the ELF file). Every other file is stripped
    only if it loads (dlopen) before and after: else its original is put back.
    """
    if not sys.platform.startswith("linux") or shutil.which("strip") is None:
        return 0
    saved = 0
    for path in sorted((bundle / "_internal").rglob("*.so*")):
        if (
            path.is_symlink()
            or not path.is_file()
            or not _is_elf(path)
            or any(part.endswith(".libs") for part in path.parts)
            or not _loads(path)
        ):
            continue
        original = path.read_bytes()
        mode = path.stat().st_mode
        result = subprocess.run(
            ["strip", "--strip-unneeded", str(path)], capture_output=True, check=False
        )
        if result.returncode != 0 or not _loads(path):
            path.write_bytes(original)
        path.chmod(mode)
        saved += len(original) - path.stat().st_size
    return saved


def trim_icu(bundle: Path) -> int:
    """Linux: Qt's ICU data library keeps only what Qt reads (packaging/icu_data.py: the
    collation tree and locale bundles; 32 -> 8 MB); returns bytes saved."""
    if not sys.platform.startswith("linux") or not (shutil.which("cc") and shutil.which("readelf")):
        return 0
    spec = importlib.util.spec_from_file_location(
        "cxr_packaging_icu_data", ROOT / "packaging" / "icu_data.py"
    )
    icu_data = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(icu_data)
    saved = 0
    for lib in sorted((bundle / "_internal").rglob("libicudata.so.*")):
        if lib.is_file() and not lib.is_symlink():
            before, after = icu_data.trim(lib)
            saved += before - after
    return saved


def bundled_models(model_dir: Path) -> list[Path]:
    """The model folders to ship: `model_dir` itself when it holds a model card, else its
    subfolders (hidden ones left out), sorted."""
    if (model_dir / CARD).is_file() or not model_dir.is_dir():
        return [model_dir]
    return sorted(p for p in model_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def shipped_files(folder: Path) -> tuple[str, ...]:
    """The files of a model folder the bundle ships: the card and the files of the precision
    `auto` runs (the other precision stays in the source tree: two models fit in 250 MB so).
    ModelError when the folder holds no trained, verified model."""
    from cxr_model.inference.backends import choose_precision
    from cxr_model.inference.card import PRECISION_FILES, load_verified_card

    precision, _ = choose_precision(load_verified_card(folder), "auto")
    return (CARD, *PRECISION_FILES[precision])


def model_datas(model_dir: Path) -> list[tuple[str, str]]:
    """(file, bundle folder) of every model file shipped: resources/models/NAME/..."""
    return [
        (str(folder / name), f"resources/models/{folder.name}")
        for folder in bundled_models(model_dir)
        for name in shipped_files(folder)
    ]


def missing_model_reason(model_dir: Path) -> str | None:
    """Why model_dir cannot be bundled, or None when each of its model folders holds a
    trained model whose files match its card."""
    from cxr_model.errors import ModelError

    folders = bundled_models(model_dir)
    if not folders:
        return f"no model folders in {model_dir}: the bundle ships at least one trained model"
    for folder in folders:
        try:
            shipped_files(folder)
        except ModelError as exc:
            return (
                f"no trained model in {folder} ({exc.reason}); put the trained model there or "
                "pass --model-dir: the bundle never ships untrained weights"
            )
    return None


def build(model_dir: Path, clean: bool = False) -> int:
    reason = missing_model_reason(model_dir)
    if reason:
        print(f"build.py: {reason}", file=sys.stderr)
        return EXIT_NO_MODEL
    if clean:
        shutil.rmtree(WORK, ignore_errors=True)
    env = dict(os.environ, CXR_BUNDLE_MODEL_DIR=str(model_dir.resolve()))
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        "WARN",
        "--distpath",
        str(DIST),
        "--workpath",
        str(WORK),
        str(SPEC),
    ]
    print("build.py: " + " ".join(command), flush=True)
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        print(f"build.py: PyInstaller failed (exit {result.returncode})", file=sys.stderr)
        return 1
    for name in ("cxr-desktop", "cxr"):
        if not (BUNDLE / exe_name(name)).is_file():
            print(f"build.py: {BUNDLE / exe_name(name)} is missing", file=sys.stderr)
            return 1
    saved = strip_symbols(BUNDLE)
    print(f"build.py: stripped debug sections and symbol tables ({saved / 1e6:.1f} MB)")
    print(
        f"build.py: trimmed Qt's ICU data to collation and locales ({trim_icu(BUNDLE) / 1e6:.1f}"
        " MB saved)"
    )
    size = folder_size(BUNDLE) / 1e6
    print(
        f"build.py: built {BUNDLE} ({size:.1f} MB) in {time.monotonic() - started:.0f}s "
        f"with the models {', '.join(p.name for p in bundled_models(model_dir))}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path(os.environ.get("CXR_BUNDLE_MODEL_DIR") or MODELS),
        help="models folder, or one model folder, to bundle (default: resources/models)",
    )
    parser.add_argument("--clean", action="store_true", help="drop the PyInstaller cache first")
    args = parser.parse_args(argv)
    return build(args.model_dir, clean=args.clean)


if __name__ == "__main__":
    sys.exit(main())
