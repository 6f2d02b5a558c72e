"""A RabbitMQ node of a test's own (Debian's rabbitmq-server), so a test can
restart "the broker" without touching the machine's shared one, which the rest of
the test session uses.

Everything lives under one directory: the Erlang cookie (``HOME``), the Mnesia
data (kept across :meth:`PrivateBroker.stop` / :meth:`PrivateBroker.start`, so
durable queues and persistent messages survive a restart, as on a real broker),
logs, and a configuration that listens on a free loopback port only. The
scripts under ``/usr/lib/rabbitmq/bin`` are called directly: the ``/usr/sbin``
wrappers switch to the ``rabbitmq`` user, who cannot write to the test's
directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

from kombu import Connection

from devstack.infra import LOOPBACK, free_port, port_open, wait_for

SCRIPTS = Path("/usr/lib/rabbitmq/bin")
EPMD_PORT = 4369


class BrokerFailed(RuntimeError):
    """The private RabbitMQ node did not start or stop."""


def _script(name: str) -> str:
    direct = SCRIPTS / name
    if direct.exists():
        return str(direct)
    found = shutil.which(name)
    if found is None:
        raise BrokerFailed(f"{name} is not installed (Debian package rabbitmq-server; see scripts/bootstrap.sh)")
    return found


class PrivateBroker:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.node = f"crmtest-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.log = base / "rabbitmq-server.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._epmd_was_running = port_open(EPMD_PORT)
        base.mkdir(parents=True, exist_ok=True)
        (base / "rabbitmq.conf").write_text(f"listeners.tcp.local = {LOOPBACK}:{self.port}\n")
        (base / "rabbitmq-env.conf").write_text("")  # not /etc/rabbitmq's, which names the shared node
        (base / "enabled_plugins").write_text("[].\n")  # no management listener to collide with the shared one

    @property
    def uri(self) -> str:
        return f"amqp://guest:guest@{LOOPBACK}:{self.port}/%2F"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HOME": str(self.base),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": LOOPBACK,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "ERL_EPMD_ADDRESS": LOOPBACK,
            "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 90) -> None:
        if self.running:
            return
        with self.log.open("ab") as fh:
            self._proc = subprocess.Popen(
                [_script("rabbitmq-server")],
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.base,
                start_new_session=True,
            )
        try:
            component = f"private RabbitMQ node {self.node} on port {self.port}"
            wait_for(component, self._accepts, timeout, self.log, self._proc)
        except Exception as exc:
            self.stop()
            raise BrokerFailed(str(exc)) from exc

    def stop(self, timeout: float = 60) -> None:
        """A clean shutdown, as an operator's restart would do; the process group is
        killed if the node does not go within ``timeout``."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(
                [_script("rabbitmqctl"), "-n", self.node, "stop"],
                env=self.env,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def close(self) -> None:
        self.stop()
        if not self._epmd_was_running and port_open(EPMD_PORT):
            # The node started the Erlang port mapper; nothing else is registered with it.
            subprocess.run(["epmd", "-kill"], capture_output=True, timeout=10, check=False)

    def _accepts(self) -> bool:
        with Connection(self.uri, connect_timeout=2) as conn:
            conn.connect()
            return True
