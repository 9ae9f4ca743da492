"""Which files of the frozen bundle the programs open, measured with strace.

`python packaging/file_use.py [--bundle dist/cxr-desktop] [--top 40]` prints the table;
`packaging/measure.py` stores the same figures in benchmarks/bundle.json (`file_use`).

Every scenario runs a bundled program under `strace -f` (open/openat/execve of every process
and thread) the way a user would: both self-tests, the window's first paint offscreen and on
Xvfb (xcb), `cxr predict` with a heatmap, and `cxr scan` over a folder of every supported
format (the broken-file corpus of tests/corpus.py: JPEG, PNG 8/16 bit, TIFF, BMP, DICOM
raw/RLE/JPEG/JPEG 2000/JPEG-LS, ...). A file never opened in any of them is a candidate to
drop; a file opened is needed.

How much of each file the runs read is measured too: before the runs every bundle file is
evicted from the page cache (posix_fadvise DONTNEED, no root needed), after them mincore()
says which of its pages are resident again. That counts the kernel's readahead, so it is an
upper bound; a library the loader maps but hardly touches shows up with few MB read.
"""

from __future__ import annotations

import argparse
import ctypes
import mmap
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUNDLE = ROOT / "dist" / "cxr-desktop"
FULLRES = ROOT.parent / "shared" / "data" / "fullres"
SAMPLES = ROOT / "resources" / "samples"
TIMEOUT_S = 600
OPENED = re.compile(r'(?:open|openat|execve)\((?:[A-Z_]+, )?"([^"]+)"')


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "CXR_MODEL_DIR",
            "DISPLAY",
            "WAYLAND_DISPLAY",
            "PYTHONPATH",
            "PYTHONHOME",
            "LD_LIBRARY_PATH",
        )
    }
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.update(extra or {})
    return env


def scenarios(bundle: Path, work: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """name -> (command, extra environment): what a user does with the app and the CLI."""
    cli, gui = str(bundle / "cxr"), str(bundle / "cxr-desktop")
    paint = {"CXR_DESKTOP_EXIT_AFTER_FIRST_PAINT": "1"}
    xray = next(iter(sorted(FULLRES.glob("*.jpeg"))), None) or sorted(SAMPLES.glob("*.jpeg"))[0]
    corpus = work / "corpus"
    sys.path[:0] = [str(ROOT / "tests")]
    from corpus import build_corpus  # the bundle tests' broken-file corpus

    build_corpus(corpus, xray)
    runs = {
        "cxr selftest": ([cli, "selftest"], {}),
        "cxr-desktop --selftest": ([gui, "--selftest"], {}),
        "cxr-desktop first paint (offscreen)": ([gui], paint),
        "cxr predict --heatmap (full-res JPEG)": (
            [cli, "predict", "--json", "--heatmap", str(work / "heat.png"), str(xray)],
            {},
        ),
        "cxr scan (every supported format)": (
            [cli, "scan", str(corpus), "--out", str(work / "scan.csv")],
            {},
        ),
    }
    if shutil.which("xvfb-run"):
        runs["cxr-desktop first paint (Xvfb, xcb)"] = (
            ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", gui],
            {**paint, "QT_QPA_PLATFORM": "xcb"},
        )
    return runs


def _files(bundle: Path) -> list[Path]:
    return [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink()]


def evict(paths: list[Path]) -> None:
    """Drop the files' clean pages from the page cache."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def resident_bytes(path: Path) -> int | None:
    """Bytes of the file in the page cache (mincore), None where it cannot be measured."""
    size = path.stat().st_size
    if size == 0:
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    page = mmap.PAGESIZE
    pages = (size + page - 1) // page
    vec = (ctypes.c_ubyte * pages)()
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), size, access=mmap.ACCESS_COPY) as mem:
        address = ctypes.addressof(ctypes.c_char.from_buffer(mem))
        ok = libc.mincore(ctypes.c_void_p(address), ctypes.c_size_t(size), vec) == 0
        del address
    return min(sum(v & 1 for v in vec) * page, size) if ok else None


def trace(bundle: Path) -> dict:
    """Run every scenario under strace (the files of the bundle each one opened), after
    evicting the bundle from the page cache (then how much of each file was read)."""
    if shutil.which("strace") is None:
        return {"error": "strace is not installed"}
    bundle = bundle.resolve()
    evict(_files(bundle))
    runs, opened = {}, set()
    with tempfile.TemporaryDirectory(prefix="cxr-file-use-") as tmp:
        work = Path(tmp)
        for name, (command, extra) in scenarios(bundle, work).items():
            log = work / "strace.log"
            result = subprocess.run(
                ["strace", "-f", "-qq", "-e", "trace=open,openat,execve", "-o", str(log), *command],
                capture_output=True,
                text=True,
                env=_env(extra),
                timeout=TIMEOUT_S,
                check=False,
            )
            seen = set()
            for match in OPENED.finditer(log.read_text(errors="replace")):
                path = Path(os.path.normpath(match.group(1)))
                if path.is_relative_to(bundle) and path.is_file():
                    seen.add(path.resolve().relative_to(bundle).as_posix())
            runs[name] = {"exit": result.returncode, "files_opened": len(seen)}
            opened |= seen
    read = {p.relative_to(bundle).as_posix(): resident_bytes(p) for p in _files(bundle)}
    return {"scenarios": runs, "opened": sorted(opened), "read": read}


def file_use(bundle: Path, top: int = 40) -> dict:
    """Sizes of all files, which were opened, and the largest `top` with that mark."""
    traced = trace(bundle)
    if "error" in traced:
        return traced
    opened, read = set(traced["opened"]), traced["read"]
    files = sorted(
        ((p.stat().st_size, p.relative_to(bundle).as_posix()) for p in _files(bundle)), reverse=True
    )
    never = [(size, path) for size, path in files if path not in opened]

    def mb(value: int | None) -> float | None:
        return None if value is None else round(value / 1e6, 2)

    return {
        "scenarios": traced["scenarios"],
        "opened_mb": round(sum(s for s, p in files if p in opened) / 1e6, 1),
        "never_opened_mb": round(sum(s for s, _ in never) / 1e6, 1),
        "read_mb": round(sum(read[p] or 0 for _, p in files) / 1e6, 1),
        "largest": [
            {"path": p, "mb": mb(s), "opened": p in opened, "read_mb": mb(read[p])}
            for s, p in files[:top]
        ],
        "largest_never_opened": [{"path": p, "mb": mb(s)} for s, p in never[:top]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    result = file_use(args.bundle, args.top)
    if "error" in result:
        print(f"file_use.py: {result['error']}", file=sys.stderr)
        return 1
    for name, run in result["scenarios"].items():
        print(f"{name}: exit {run['exit']}, {run['files_opened']} bundle files opened")
    print(
        f"\nopened {result['opened_mb']} MB, never opened {result['never_opened_mb']} MB, "
        f"read (page cache, with readahead) {result['read_mb']} MB\n"
    )
    for entry in result["largest"]:
        print(
            f"{entry['mb']:8.2f} MB  {'opened' if entry['opened'] else 'NEVER '}  "
            f"read {entry['read_mb']:6.2f} MB  {entry['path']}"
        )
    print("\nlargest never opened:")
    for entry in result["largest_never_opened"]:
        print(f"{entry['mb']:8.2f} MB  {entry['path']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
