"""Test and benchmark helper: a Ray cluster of two nodes on 127.0.0.1, started the way
docs/cluster.md says, with token authentication on.

`ray get-auth-token --generate`, then `RAY_AUTH_MODE=token ray start --head` and a second
node `RAY_AUTH_MODE=token ray start --address HEAD`, in a HOME and temp dir of their own (the
user's ~/.ray is never touched) and on free ports (Ray's defaults are fixed numbers that other
Ray instances on the machine may hold). Each `ray start --block` process stops its node's
processes when it gets SIGTERM: the nodes are stopped by PID, never with `ray stop`, which
would stop every Ray of the machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

RAY = Path(sys.executable).with_name("ray")
#: The Ray settings a user's shell may hold: the cluster and its clients start from none.
RAY_ENV = ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _node_ports() -> list[str]:
    """Free ports for what every node listens on."""
    flags = (
        "--node-manager-port",
        "--object-manager-port",
        "--dashboard-agent-listen-port",
        "--dashboard-agent-grpc-port",
        "--runtime-env-agent-port",
        "--metrics-export-port",
    )
    return [part for flag in flags for part in (flag, str(free_port()))]


def _wait_for_cpus(env: dict, address: str, cpus: int, nodes: list[subprocess.Popen]) -> None:
    """Until `ray status` counts `cpus` idle CPUs (every node joined), or fail."""
    deadline = time.monotonic() + 120
    status = ""
    while time.monotonic() < deadline:
        if any(node.poll() is not None for node in nodes):
            raise RuntimeError("a `ray start` process ended early")
        done = subprocess.run(
            [str(RAY), "status", "--address", address],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        status = done.stdout + done.stderr
        if f"0.0/{cpus}.0 CPU" in status:
            return
        time.sleep(1)
    raise RuntimeError(f"the Ray cluster never had {cpus} CPUs:\n{status}")


@contextlib.contextmanager
def two_nodes(root: Path, cpus: tuple[int, int] = (1, 1)) -> Iterator[tuple[str, dict]]:
    """Yield (address, environment of the machine: HOME with the token in ~/.ray/auth_token,
    RAY_AUTH_MODE unset) while a head of `cpus[0]` and a worker node of `cpus[1]` CPUs run.
    Their logs: root/head.log and root/worker.log."""
    if not RAY.is_file():
        raise FileNotFoundError(f"no `ray` command beside {sys.executable}")
    home = root / "home"
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in RAY_ENV}
    env |= {"HOME": str(home), "RAY_USAGE_STATS_ENABLED": "0"}
    subprocess.run(
        [str(RAY), "get-auth-token", "--generate"], env=env, capture_output=True, check=True
    )
    # no 30 s drain at SIGTERM (it waits for Ray Data's detached actors on the head)
    node_env = env | {"RAY_AUTH_MODE": "token", "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"}
    port = free_port()
    address = f"127.0.0.1:{port}"
    common = ["--node-ip-address", "127.0.0.1", "--block"]
    head = [str(RAY), "start", "--head", "--port", str(port), "--num-cpus", str(cpus[0])]
    # Ray's sockets live in its temp dir, and a socket path may not pass 107 bytes: a short one
    temp = tempfile.mkdtemp(prefix="cxr-ray-", dir="/tmp" if os.path.isdir("/tmp") else None)
    head += ["--temp-dir", temp, "--include-dashboard", "false"]
    head += ["--dashboard-port", str(free_port()), *common, *_node_ports()]
    worker = [str(RAY), "start", "--address", address, "--num-cpus", str(cpus[1])]
    worker += [*common, *_node_ports()]
    nodes: list[subprocess.Popen] = []
    try:
        with open(root / "head.log", "wb") as log:
            nodes.append(subprocess.Popen(head, env=node_env, stdout=log, stderr=log))
        deadline = time.monotonic() + 120
        while not _listening(port):
            if nodes[0].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the head did not start:\n{(root / 'head.log').read_text()}")
            time.sleep(0.2)
        with open(root / "worker.log", "wb") as log:
            nodes.append(subprocess.Popen(worker, env=node_env, stdout=log, stderr=log))
        _wait_for_cpus(node_env, address, sum(cpus), nodes)
        yield address, env
    finally:
        for node in nodes:
            node.send_signal(signal.SIGTERM)
        for node in nodes:
            try:
                node.wait(timeout=60)
            except subprocess.TimeoutExpired:
                node.kill()
                node.wait()
        shutil.rmtree(temp, ignore_errors=True)
