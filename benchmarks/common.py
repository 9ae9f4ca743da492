"""Shared helpers of the benchmark suite: timing, memory, machine facts, worker I/O."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cxr_model.cpu import cpu_flags, cpu_model

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
PAIRS_CSV = DATA / "cxr-pairs" / "pairs.csv"
FULLRES_DIR = DATA / "fullres"
THREADS = 2

if str(ROOT) not in sys.path:  # `tests.*` helpers and the packages, whatever the cwd
    sys.path.insert(0, str(ROOT))


def time_op(fn: Callable[[], Any], warmup: int, repeats: int) -> dict[str, Any]:
    """Run `fn` `warmup` times untimed, then `repeats` times timed; stats in milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000.0)
    return summarize(samples) | {"warmup": warmup}


class NetworkClock:
    """Replaces a model backend's `run` (the forward pass) with a timed call of it: `seconds`
    adds up the time spent in the network, so a caller can tell what lies outside it."""

    def __init__(self, backend: Any) -> None:
        self.forward = backend.run
        self.seconds = 0.0
        backend.run = self

    def __call__(self, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return self.forward(*args)
        finally:
            self.seconds += time.perf_counter() - start


def outside_network_share(fn: Callable[[], Any], clock: NetworkClock, repeats: int) -> dict:
    """Per run of `fn`, the share of its time spent outside the network; summarised."""
    shares = []
    for _ in range(repeats):
        clock.seconds = 0.0
        start = time.perf_counter()
        fn()
        shares.append(1.0 - clock.seconds / (time.perf_counter() - start))
    return summarize(shares)


def summarize(samples: list[float]) -> dict[str, Any]:
    """Median, min, max, mean and count of a list of samples (kept too, for the JSON)."""
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "mean": statistics.fmean(samples),
        "n": len(samples),
        "samples": [round(s, 4) for s in samples],
    }


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (10^6 bytes).

    VmHWM from /proc/self/status: Linux carries ru_maxrss over from the parent across
    fork + exec, so in a worker it can report the launcher's peak instead of its own.
    ru_maxrss (KiB) is the fallback where /proc is missing.
    """
    hwm = status_mb("VmHWM")
    if hwm is not None:
        return hwm
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def status_mb(field: str = "VmRSS") -> float | None:
    """A /proc/self/status memory field (VmRSS, VmHWM, ...) in MB (10^6 bytes)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        return None
    return None


def _version(module: str) -> str | None:
    try:
        return __import__(module).__version__
    except Exception:
        return None


def machine_facts() -> dict[str, Any]:
    """What the figures were measured on."""
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    try:
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
        memory_gb = round(mem_kb * 1024 / 1e9, 1)
    except (OSError, StopIteration):
        memory_gb = None
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_model": cpu_model(),
        "cpu_flags": cpu_flags(),
        "logical_cores": os.cpu_count(),
        "usable_cores": affinity,
        "memory_gb": memory_gb,
        "load_average_at_start": load,
        "os": platform.platform(),
        "python": platform.python_version(),
        "onnxruntime": _version("onnxruntime"),
        "torch": _version("torch"),
        "numpy": _version("numpy"),
        "pillow": _version("PIL"),
        "pyside6": _version("PySide6"),
        "threads": THREADS,
    }


def write_json(path: str | Path, data: Any) -> None:
    """Write `data` as indented JSON."""
    Path(path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def publish(doc: dict, json_path: Path, md_path: Path, render: Callable[[dict], str]) -> int:
    """Write a benchmark's JSON and its Markdown page, print the page; exit status 0."""
    write_json(json_path, doc)
    md_path.write_text(render(doc), encoding="utf-8")
    print(render(doc))
    return 0


def run_worker(
    module: str, args: list[str], timeout: float, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run `python -m module args --json-out F` in a fresh process and return F's JSON.

    On failure returns {"error": ...} with the tail of stderr, so one broken part does not
    sink the whole suite.
    """
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"cxr-bench-{os.getpid()}-{time.time_ns()}.json"
    cmd = [sys.executable, "-m", module, *args, "--json-out", str(out)]
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"{module} timed out after {timeout:.0f} s"}
    try:
        if proc.returncode != 0 or not out.is_file():
            tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-15:]
            return {"error": f"{module} exited {proc.returncode}", "stderr": tail}
        return json.loads(out.read_text(encoding="utf-8"))
    finally:
        out.unlink(missing_ok=True)


def worker_env(**extra: str) -> dict[str, str]:
    """Environment of a worker: this one, the repo importable, 2 threads for OpenMP/MKL."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("OMP_NUM_THREADS", str(THREADS))
    env.setdefault("MKL_NUM_THREADS", str(THREADS))
    env.update(extra)
    return env
