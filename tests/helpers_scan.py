"""Test helper: kill a real `cxr scan` subprocess mid-way and read what it left."""

from __future__ import annotations

import csv
import signal
import subprocess
import time
from pathlib import Path


def kill_after_lines(
    command: list[str], env: dict, out: Path, lines: int, timeout: float = 300
) -> list[dict]:
    """Run `command`, SIGKILL it as soon as the CSV `out` holds more than `lines` lines (or
    it has ended, or `timeout` passed), and return the rows it left; none is cut in half."""
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if out.is_file() and out.read_text(encoding="utf-8").count("\n") > lines:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert out.read_text(encoding="utf-8").endswith("\n"), "a row was cut in half"
    with open(out, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
