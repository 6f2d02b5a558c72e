"""Processes and ports of the local stack: the primitives ``devstack.infra`` and
``devstack.services`` start things with.

Everything binds to 127.0.0.1. ``wait_for`` polls a readiness check with a deadline
and names the component (and the tail of its log) when it does not come up. A
``ManagedProcess`` runs in its own process group, so stopping it (SIGTERM, then
SIGKILL) or killing it (as a crash would) takes its children too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.1"


class ComponentFailed(RuntimeError):
    """A component of the local stack did not start."""


def port_open(port: int, host: str = LOOPBACK) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def free_port(also_free_offset: int | None = None) -> int:
    """A free loopback port; with an offset, ``port + offset`` must be free too
    (SeaweedFS derives each gRPC port as HTTP port + 10000)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind((LOOPBACK, 0))
            port = int(s.getsockname()[1])
        if also_free_offset is None:
            return port
        if port + also_free_offset < 65535 and not port_open(port + also_free_offset):
            with socket.socket() as s2:
                try:
                    s2.bind((LOOPBACK, port + also_free_offset))
                except OSError:
                    continue
            return port
    raise ComponentFailed("no free loopback port")


def wait_for(
    component: str,
    check: Callable[[], bool],
    timeout: float,
    log: Path | None = None,
    proc: subprocess.Popen[bytes] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ComponentFailed(f"{component} exited with code {proc.returncode}{_tail(log)}")
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.2)
    raise ComponentFailed(f"{component} did not become ready within {timeout:.0f}s{_tail(log)}")


def _tail(log: Path | None, lines: int = 15) -> str:
    if log is None or not log.exists():
        return ""
    text = log.read_text(errors="replace").splitlines()[-lines:]
    return f"\n--- last lines of {log} ---\n" + "\n".join(text)


@dataclass
class ManagedProcess:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    argv: list[str] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)

    def kill(self) -> None:
        """SIGKILL the process group, as a crash would (fault tests)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, grace: float = 10.0) -> None:
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
