"""Measure the frozen bundle: size, start-up to selftest done, start-up to the first painted window,
and which of its files the programs open (packaging/file_use.py, with strace).

`python packaging/measure.py [--bundle dist/cxr-desktop] [--runs 5] [--out benchmarks/bundle.json]`

Each start-up figure is the median of --runs subprocess wall times (perf_counter around
Popen -> exit, or -> the `first-paint` line). The first paint uses the frozen entry's hook
`CXR_DESKTOP_EXIT_AFTER_FIRST_PAINT=1` (packaging/entry/cxr_desktop_entry.py), offscreen.
The page cache is warm after the first run (caches are not dropped: that needs root and
disturbs other work); `first_run_s` keeps the first, coldest run apart.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUNDLE = ROOT / "dist" / "cxr-desktop"
DEFAULT_OUT = ROOT / "benchmarks" / "bundle.json"
FIRST_PAINT_ENV = "CXR_DESKTOP_EXIT_AFTER_FIRST_PAINT"
TIMEOUT_S = 300


def _env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CXR_MODEL_DIR", "DISPLAY", "WAYLAND_DISPLAY")
    }
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def bundle_size(bundle: Path) -> dict:
    files = [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink()]
    sizes = sorted(
        ((p.stat().st_size, p.relative_to(bundle).as_posix()) for p in files), reverse=True
    )
    total = sum(size for size, _ in sizes)
    return {
        "bytes": total,
        "mb": round(total / 1e6, 1),
        "mib": round(total / 2**20, 1),
        "files": len(files),
        "largest": [{"path": path, "mb": round(size / 1e6, 1)} for size, path in sizes[:10]],
    }


def _summary(times: list[float], extra: dict | None = None) -> dict:
    return {
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        "first_run_s": round(times[0], 3),
        "runs": [round(t, 3) for t in times],
        **(extra or {}),
    }


def time_selftest(command: list[str], runs: int) -> dict:
    """Wall time of `command` (a selftest) until it exits; it must print 'selftest ok'."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(
            command, capture_output=True, text=True, env=_env(), timeout=TIMEOUT_S
        )
        times.append(time.perf_counter() - started)
        if result.returncode != 0 or "selftest ok" not in result.stdout:
            return {
                "error": f"exit {result.returncode}: {result.stderr.strip()[-500:]}",
                "command": command,
            }
    return _summary(times, {"command": [Path(command[0]).name, *command[1:]]})


def time_first_paint(program: Path, runs: int) -> dict:
    """Wall time from launch until the app prints `first-paint` (its window painted)."""
    times, inside = [], []
    env = {**_env(), FIRST_PAINT_ENV: "1"}
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.Popen(
            [str(program)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        seen = None
        for line in proc.stdout:
            if line.startswith("first-paint"):
                seen = time.perf_counter() - started
                inside.append(float(line.split()[1]))
                break
        try:
            _, err = proc.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if seen is None:
            return {
                "error": "the app never printed first-paint (no hook in this build, or "
                f"it failed): exit {proc.returncode}: {err.strip()[-500:]}"
            }
        times.append(seen)
    return _summary(times, {"in_process_median_s": round(statistics.median(inside), 3)})


def file_use(bundle: Path) -> dict:
    """packaging/file_use.py's figures (loaded by path: packaging/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "cxr_file_use", ROOT / "packaging" / "file_use.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.file_use(bundle)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    exe = ".exe" if sys.platform == "win32" else ""
    cli, gui = args.bundle / f"cxr{exe}", args.bundle / f"cxr-desktop{exe}"
    if not (cli.is_file() and gui.is_file()):
        print(
            f"measure.py: no bundle at {args.bundle}; run packaging/build.py first", file=sys.stderr
        )
        return 1
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    result = {
        "bundle": os.path.relpath(args.bundle, ROOT),  # no machine path in a committed file
        "size": bundle_size(args.bundle),
        "cli_selftest": time_selftest([str(cli), "selftest"], args.runs),
        "desktop_selftest": time_selftest([str(gui), "--selftest"], args.runs),
        "first_paint": time_first_paint(gui, args.runs),
        "file_use": file_use(args.bundle),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg() if hasattr(os, "getloadavg") else None,
        },
        "note": "median of subprocess wall times, warm page cache; compare only runs on the "
        "same machine under the same load",
    }
    for path in (ROOT / "dist").glob("cxr-desktop*.deb"):
        result["size"]["deb_mb"] = round(path.stat().st_size / 1e6, 1)
    for path in (ROOT / "dist").glob("cxr-desktop-*-linux-x86_64.tar.gz"):
        result["size"]["tarball_mb"] = round(path.stat().st_size / 1e6, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        json.dumps(
            {k: v for k, v in result.items() if k not in ("size", "file_use")}
            | {
                "size_mb": result["size"]["mb"],
                "never_opened_mb": result["file_use"].get("never_opened_mb"),
            },
            indent=2,
        )
    )
    print(f"measure.py: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
