"""`cxr listen` under load (issue 19 §4): 8 DCMTK storescu senders at once, several
associations each, push real 16-bit X-rays of 1024 px or more; checks that every instance is
stored and scored exactly once (results.csv and the audit log agree), measures C-ECHO round
trips while loaded, the listener's peak RSS and its rate against `cxr scan` of the same files
in the same run; then the same with the listener killed (SIGKILL) and restarted mid-load, the
senders resending what they did not see acknowledged: nothing acknowledged may be lost.

`python -m benchmarks.listen_load [--images N]` writes benchmarks/listen_load.json and
benchmarks/LISTEN_LOAD.md. Needs DCMTK and ../shared/data.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

from benchmarks.common import FULLRES_DIR, ROOT, THREADS, machine_facts, publish
from benchmarks.pacs import _cxr, _rows

sys.path.insert(0, str(ROOT / "tests"))  # the DICOM helpers of the test suite

from helpers_orthanc import dcmtk, free_port, write_study, xray_pixels

OUT_JSON = ROOT / "benchmarks" / "listen_load.json"
OUT_MD = ROOT / "benchmarks" / "LISTEN_LOAD.md"
SENDERS = 8
PER_ASSOCIATION = 10  # files per storescu run: each sender opens several associations
MIN_WIDTH = 1024
LISTEN_AET, SENDER_AET = "CXRDESKTOP", "LOADER"
_SENDING = re.compile(r"Sending file: (.+)$")


def make_files(folder: Path, count: int) -> list[Path]:
    """`count` distinct studies of one real X-ray each, 16-bit, at least MIN_WIDTH wide."""
    pixels = []
    for path in sorted(FULLRES_DIR.glob("*.jpeg")):
        with Image.open(path) as im:
            width = im.width
        pixels.append(xray_pixels(path, max(MIN_WIDTH, width)))
    files = []
    for number in range(count):
        files += write_study(folder, pixels[number % len(pixels)], f"LOAD-{number:04d}")
    return files


class Listener:
    """A `cxr listen` process (stopped or killed by PID); returns once it listens."""

    def __init__(self, out: Path, port: int, log: Path) -> None:
        self.log = log
        before = self._starts()
        with open(log, "ab") as fh:
            self.process = subprocess.Popen(
                _cxr(
                    "listen", "--port", str(port), "--out", str(out), "--bind", "127.0.0.1",
                    "--allow", SENDER_AET, "--aet", LISTEN_AET,
                ),
                stdout=fh,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while self._starts() == before:
            assert self.process.poll() is None and time.monotonic() < deadline, self.tail()
            time.sleep(0.05)

    def _starts(self) -> int:
        return (
            self.log.read_text(errors="replace").count("listening as") if self.log.exists() else 0
        )

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]

    def cpu_seconds(self) -> float:
        """User + system CPU time the listener process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
        self.process.wait(timeout=300)


class Sender(threading.Thread):
    """One storescu sender: its files in associations of PER_ASSOCIATION, each file resent
    until storescu reports it acknowledged (Success)."""

    def __init__(self, port: int, files: list[Path]) -> None:
        super().__init__(daemon=True)
        self.port, self.todo = port, list(files)
        self.acknowledged: list[tuple[float, Path]] = []
        self.failed_runs = 0

    def _run_once(self, files: list[Path]) -> set[Path]:
        """One association; each acknowledgement timestamped as storescu reports it."""
        process = subprocess.Popen(
            [dcmtk("storescu"), "-v", "-aet", SENDER_AET, "-aec", LISTEN_AET, "-nh", "127.0.0.1",
             str(self.port), *map(str, files)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        done, current = set(), None
        for line in process.stdout:
            match = _SENDING.search(line)
            if match:
                current = Path(match.group(1).strip())
            elif "Received Store Response (Success)" in line and current is not None:
                done.add(current)
                self.acknowledged.append((time.monotonic(), current))
                current = None
        if process.wait(timeout=600) != 0:
            self.failed_runs += 1
        return done

    def run(self) -> None:
        while self.todo:
            batch = self.todo[:PER_ASSOCIATION]
            done = self._run_once(batch)
            self.todo = [p for p in self.todo if p not in done]
            if not done:
                time.sleep(0.2)  # the listener is away (being restarted): try again


def echo_loop(port: int, stop: threading.Event, samples: list[float], failures: list[str]):
    """C-ECHO (association + echo + release) every 0.25 s while loaded."""
    from cxr_model.dicom_net.client import Pacs
    from cxr_model.dicom_net.node import parse_node
    from cxr_model.errors import NetworkError

    pacs = Pacs(parse_node(f"{LISTEN_AET}@127.0.0.1:{port}"), aet=SENDER_AET, timeout=5)
    while not stop.wait(0.25):
        start = time.perf_counter()
        try:
            pacs.echo()
        except NetworkError as exc:
            failures.append(str(exc)[:120])
            continue
        samples.append((time.perf_counter() - start) * 1000.0)


def sop_of(path: Path) -> str:
    import pydicom

    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def audit_counts(path: Path) -> tuple[list[str], list[str]]:
    """(SOP UIDs of first `stored` lines, SOP UIDs of `result` lines) in an audit log."""
    stored, results = [], []
    for line in path.read_text().splitlines():
        fields = dict(part.split("=", 1) for part in line.split()[2:] if "=" in part)
        if " stored " in line and "again" not in fields:
            stored.append(fields["sop"])
        elif " result " in line:
            results.append(fields["sop"])
    return stored, results


def final_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def exactly_once(out: Path, sops: set[str]) -> dict:
    rows = final_rows(out / "results.csv")
    row_sops = [r["sop_uid"] for r in rows]
    stored, results = audit_counts(out / "audit.log")
    return {
        "rows": len(rows),
        "unique_rows": len(set(row_sops)),
        "missing": len(sops - set(row_sops)),
        "row_errors": sum(1 for r in rows if r["error"]),
        "audit_results": len(results),
        "audit_results_unique": len(set(results)),
        "audit_stored_first": len(stored),
        "audit_agrees": sorted(results) == sorted(row_sops),
        "exactly_once": sorted(row_sops) == sorted(sops) and sorted(results) == sorted(sops),
    }


def run_load(work: Path, name: str, files: list[Path], sops: set[str], kill_at: int | None):
    """One loaded run; `kill_at`: SIGKILL the listener once this many rows are written, then
    restart it on the same port and folder."""
    out, port, log = work / name, free_port(), work / f"{name}.log"
    listener = Listener(out, port, log)
    senders = [Sender(port, files[i::SENDERS]) for i in range(SENDERS)]
    stop, echoes, echo_failures = threading.Event(), [], []
    echo = threading.Thread(target=echo_loop, args=(port, stop, echoes, echo_failures))
    start, machine_start = time.perf_counter(), machine_cpu_seconds()
    for sender in senders:
        sender.start()
    echo.start()
    killed_at = None
    acknowledged_before_kill: set[Path] = set()
    peak_rss = []
    deadline = time.monotonic() + 1800
    while _rows(out / "results.csv") < len(files) or any(s.is_alive() for s in senders):
        assert time.monotonic() < deadline, listener.tail()
        if kill_at is not None and killed_at is None and _rows(out / "results.csv") >= kill_at:
            peak_rss.append(listener.peak_rss_mb())
            now = time.monotonic()
            listener.stop(signal.SIGKILL)
            killed_at = _rows(out / "results.csv")
            acknowledged_before_kill = {p for s in senders for t, p in s.acknowledged if t <= now}
            listener = Listener(out, port, log)
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    machine = machine_cpu_seconds() - machine_start
    listener_cpu = listener.cpu_seconds()
    stop.set()
    echo.join()
    peak_rss.append(listener.peak_rss_mb())
    listener.stop()
    check = exactly_once(out, sops)
    lost = {sop_of(p) for p in acknowledged_before_kill} - {
        r["sop_uid"] for r in final_rows(out / "results.csv")
    }
    return {
        "seconds": elapsed,
        "img_per_s": len(files) / elapsed,
        "echo_ms": {
            "n": len(echoes),
            "median": statistics.median(echoes) if echoes else None,
            "max": max(echoes) if echoes else None,
            "over_1s": sum(1 for e in echoes if e > 1000),
            "failed": len(echo_failures),
            "failures": echo_failures[:3],
        },
        "peak_rss_mb": max(peak_rss),
        # the listener's CPU per image (without a kill, when one process did it all) and the
        # whole machine's: listener, senders, this harness
        "listener_cpu_ms_per_image": None if kill_at else listener_cpu / len(files) * 1000,
        "machine_cpu_ms_per_image": machine / len(files) * 1000,
        "storescu_runs_failed": sum(s.failed_runs for s in senders),
        "killed_after_rows": killed_at,
        "acknowledged_before_kill": len(acknowledged_before_kill),
        "acknowledged_lost": len(lost),
        **check,
    }


def machine_cpu_seconds() -> float:
    """CPU time used by the whole machine so far (every core; /proc/stat's busy columns)."""
    busy = Path("/proc/stat").read_text().split()[1:8]
    user, nice, system, _idle, _iowait, irq, softirq = map(int, busy)
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def scan_rate(folder: Path, count: int) -> tuple[float, float]:
    """`cxr scan` of the same files, in process (model loaded, as the listener has it): images
    per second and CPU milliseconds per image."""
    from cxr_model.inference.predictor import load_model
    from cxr_model.inference.scan import plan_scan, scan

    model = load_model(threads=THREADS)
    start, machine_start = time.perf_counter(), machine_cpu_seconds()
    rows = list(scan(model, plan_scan(folder)))
    elapsed = time.perf_counter() - start
    machine = machine_cpu_seconds() - machine_start
    assert len(rows) == count and not any(r["error"] for r in rows)
    return count / elapsed, machine / count * 1000


def render(doc: dict) -> str:
    load, kill, facts = doc["load"], doc["kill_restart"], doc["machine"]

    def flag(ok: bool) -> str:
        return "yes" if ok else "**no**"

    lines = [
        "# `cxr listen` under load (issue 19)",
        "",
        f"`python -m benchmarks.listen_load --images {doc['images']}` on {facts['cpu_model']} "
        f"({facts['logical_cores']} logical cores), {doc['measured_at']}, load average "
        f"{facts['load_average_at_start'][0]:.1f} at the start. **{doc['conditions']}**",
        "",
        f"{doc['images']} real X-rays from `../shared/data/fullres` (16-bit, "
        f"{doc['min_px']}-{doc['max_px']} px wide, {doc['mb_per_file']:.1f} MB each), "
        f"{SENDERS} storescu senders at once, {PER_ASSOCIATION} files per association.",
        "",
        "| figure | loaded | killed + restarted mid-load | target |",
        "|---|---:|---:|---:|",
        f"| every instance scored exactly once (results.csv = audit log) | "
        f"{flag(load['exactly_once'])} | {flag(kill['exactly_once'])} | yes |",
        f"| rows / unique / missing | {load['rows']} / {load['unique_rows']} / "
        f"{load['missing']} | {kill['rows']} / {kill['unique_rows']} / {kill['missing']} | |",
        f"| acknowledged before the kill, lost | | {kill['acknowledged_before_kill']}, "
        f"{kill['acknowledged_lost']} | 0 lost |",
        f"| C-ECHO round trip while loaded, median / max (n) | "
        f"{load['echo_ms']['median']:.0f} / {load['echo_ms']['max']:.0f} ms "
        f"({load['echo_ms']['n']}) | | < 1000 ms |",
        f"| C-ECHO over 1 s or failed | {load['echo_ms']['over_1s']} + "
        f"{load['echo_ms']['failed']} | | 0 |",
        f"| listener peak RSS | {load['peak_rss_mb']:.0f} MB | {kill['peak_rss_mb']:.0f} MB | "
        "bounded |",
        f"| listener rate | {load['img_per_s']:.1f} img/s | {kill['img_per_s']:.1f} img/s | |",
        f"| `cxr scan` of the same files | {doc['scan_img_per_s']:.1f} img/s | | |",
        f"| listener / scan | {load['img_per_s'] / doc['scan_img_per_s'] * 100:.1f}% | | >= 80% |",
        f"| CPU per image, whole machine: loaded listener (senders included) / `cxr scan` | "
        f"{load['machine_cpu_ms_per_image']:.1f} / {doc['scan_machine_cpu_ms_per_image']:.1f} ms"
        " | | |",
        f"| CPU per image, the listener process alone | "
        f"{load['listener_cpu_ms_per_image']:.1f} ms | | |",
        "",
        f"The kill came after {kill['killed_after_rows']} rows; the senders resent what "
        "storescu had not reported acknowledged, the restarted listener scored what the "
        "killed one had saved but not scored, and scored no resent instance twice.",
        "",
        *cpu_bound(doc),
    ]
    return "\n".join(lines) + "\n"


def cpu_bound(doc: dict) -> list[str]:
    """What the machine's CPU allows: senders, listener and scorer share its cores, so the
    listener's rate cannot pass cores / (CPU per image of the loaded machine)."""
    load, cores = doc["load"], doc["machine"]["logical_cores"]
    scan, scan_cpu = doc["scan_img_per_s"], doc["scan_machine_cpu_ms_per_image"]
    budget = cores * 1000 / (0.8 * scan)
    return [
        "What bounds the rate here: the senders, the listener and its scorer share the same "
        f"{cores} cores, which `cxr scan` alone keeps "
        f"{scan * scan_cpu / 1000 / cores * 100:.0f}% busy. The loaded machine spent "
        f"{load['machine_cpu_ms_per_image']:.1f} ms of CPU per image "
        f"({load['listener_cpu_ms_per_image']:.1f} ms in the listener: receiving, saving with "
        "fsync, the audit log, results.csv, the worklist and the same scoring as `cxr scan`), "
        f"so its cores allow at most {cores * 1000 / load['machine_cpu_ms_per_image']:.0f} img/s. "
        f"80% of the scan's rate would leave {budget:.1f} ms of CPU per image for everything, "
        f"against {scan_cpu:.1f} ms that scoring alone takes in `cxr scan`.",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument(
        "--conditions",
        default="shared machine (other jobs running): indicative only",
    )
    args = parser.parse_args()
    facts = machine_facts()
    with tempfile.TemporaryDirectory(prefix="cxr-bench-listen-") as tmp:
        work = Path(tmp)
        files = make_files(work / "files", args.images)
        sops = {sop_of(p) for p in files}
        import pydicom

        widths = [int(pydicom.dcmread(p, stop_before_pixels=True).Columns) for p in files]
        scan, scan_cpu = scan_rate(work / "files", args.images)
        load = run_load(work, "load", files, sops, kill_at=None)
        kill = run_load(work, "kill", files, sops, kill_at=args.images * 3 // 10)
        doc = {
            "machine": facts,
            "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "conditions": args.conditions,
            "images": args.images,
            "min_px": min(widths),
            "max_px": max(widths),
            "mb_per_file": statistics.median(p.stat().st_size for p in files) / 1e6,
            "scan_img_per_s": scan,
            "scan_machine_cpu_ms_per_image": scan_cpu,
            "load": load,
            "kill_restart": kill,
        }
    return publish(doc, OUT_JSON, OUT_MD, render)


if __name__ == "__main__":
    sys.exit(main())
