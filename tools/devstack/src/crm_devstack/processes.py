"""Detached server processes whose pid and ports are remembered in a state directory.

A server started by one command (``crm-stack up``) outlives it and is found again by the next
(``crm-stack down``) through ``state.json``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil


def repo_root() -> Path:
    """The checkout this package runs from (the folder holding ``.git``), else the cwd."""
    for folder in [Path(__file__).resolve(), *Path(__file__).resolve().parents]:
        if (folder / ".git").exists():
            return folder
    return Path.cwd()


def cache_dir() -> Path:
    return Path(os.environ.get("CRM_CACHE_DIR", repo_root() / ".cache"))


LISTENING_PORTS_FROM = 10000
"""Where ``free_port`` starts looking; it stops below the kernel's range for client sockets."""
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def ephemeral_ports() -> range:
    """The ports the kernel gives outgoing connections (Linux's setting; its default else)."""
    try:
        low, high = (int(n) for n in _EPHEMERAL_RANGE.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


def free_port() -> int:
    """A port nothing listens on now, below the range of client sockets.

    The stack keeps its servers' ports across restarts (``state.json``), and a port in that
    range can be taken meanwhile by any outgoing connection: a load generator hammering a
    stopped server's port connects to itself from it (a TCP self-connection, then TIME-WAIT),
    and the next ``crm up`` failed with "address already in use"."""
    below = ephemeral_ports().start
    if below - LISTENING_PORTS_FROM >= 100:
        for port in random.sample(range(LISTENING_PORTS_FROM, below), 50):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_accepts(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


class State:
    """``state.json`` in a server's state directory: its ports and, while it runs, its pid."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "state.json"

    def load(self) -> dict[str, Any]:
        if self.path.exists():
            loaded: dict[str, Any] = json.loads(self.path.read_text())
            return loaded
        return {}

    def save(self, **values: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        merged = {**self.load(), **values}
        self.path.write_text(json.dumps(merged, indent=2) + "\n")


def spawn_detached(
    command: Sequence[str],
    log_file: Path,
    env: dict[str, str] | None = None,
    user: str | None = None,
) -> int:
    """Start ``command`` in a session of its own, so it outlives this process; returns pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
            user=user,
        )
    return process.pid


def is_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        process = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return False
    return process.status() != psutil.STATUS_ZOMBIE


def terminate(pid: int | None, timeout: float, sig: int = signal.SIGTERM) -> None:
    """Signal ``pid`` and wait for it to go; SIGKILL it if it outstays ``timeout``."""
    if not is_alive(pid):
        return
    assert pid is not None
    process = psutil.Process(pid)
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except psutil.TimeoutExpired:
        process.kill()
        process.wait(10)


def wait_until(condition: Any, timeout: float, what: str, log_file: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tail = ""
            if log_file and log_file.exists():
                tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-30:])
            raise TimeoutError(f"{what} did not happen within {timeout:.0f} s\n{tail}")
        time.sleep(0.1)


class DetachedServer:
    """A server process remembered in ``state_dir/state.json``: pid, ports, stop and kill."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.state = State(state_dir)

    @property
    def pid(self) -> int | None:
        pid = self.state.load().get("pid")
        return int(pid) if pid else None

    def is_running(self) -> bool:
        return is_alive(self.pid)

    def stop(self, timeout: float = 30) -> None:
        terminate(self.pid, timeout)
        self.state.save(pid=None)

    def kill(self) -> None:
        """SIGKILL, as a crash would (for fault tests)."""
        terminate(self.pid, timeout=10, sig=signal.SIGKILL)
        self.state.save(pid=None)
