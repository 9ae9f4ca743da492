"""`cxr scan` shows a tqdm bar on a terminal only: not when stderr is redirected, not with
--quiet; the CSV on stdout is the same in every case."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def folder(tmp_path_factory, sample_images) -> Path:
    out = tmp_path_factory.mktemp("progress")
    for image in sample_images[:3]:
        shutil.copy(image, out)
    return out


def scan(
    folder: Path, model_dir: Path, terminal: bool, *extra: str, columns: int = 100
) -> tuple[str, str]:
    """(stdout, stderr) of `cxr scan FOLDER`, stderr on a pseudo-terminal of `columns`
    columns when `terminal`."""
    env = {**os.environ, "CXR_MODEL_DIR": str(model_dir), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "cxr_model.cli", "scan", str(folder), *extra]
    if not terminal:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout, done.stderr
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, text=True
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    stdout = process.stdout.read()
    assert process.wait(timeout=300) == 0
    os.close(master)
    return stdout, b"".join(chunks).decode("utf-8", "replace")


def test_bar_on_a_terminal_only_and_csv_unchanged(folder, model_dir):
    on_tty_out, on_tty_err = scan(folder, model_dir, True)
    redirected_out, redirected_err = scan(folder, model_dir, False)
    quiet_out, quiet_err = scan(folder, model_dir, True, "--quiet")
    assert "scan: 100%" in on_tty_err and "3/3" in on_tty_err and "img/s" in on_tty_err
    for err in (redirected_err, quiet_err):
        assert "%|" not in err and "img/s" not in err
        assert "scanned 3 image(s), 0 error(s)" in err
    assert on_tty_out == redirected_out == quiet_out
    assert on_tty_out.count("\n") == 4  # header + one row per image


def test_bar_on_a_terminal_that_reports_no_size(folder, model_dir):
    _, err = scan(folder, model_dir, True, columns=0)
    # a bar of fixed width, not one cell with the rate cut off
    assert re.search(r"scan: 100%\|█{20,}\| 3/3 \[[^]]*img/s\]", err), err
