"""Start and stop the local infrastructure and the project's processes.

Everything binds to 127.0.0.1. Each component is health-checked with a deadline,
and a component that does not come up is named in the error. ``Stack.stop()``
terminates every process this module started (process groups, SIGTERM then
SIGKILL), so tests leave nothing running.

This module starts the infrastructure (RabbitMQ, SecantusDB, SeaweedFS); the
project's own processes are started by ``devstack.services``, and the process and
port primitives both use are in ``devstack.processes`` (all re-exported here).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from devstack import env_file, services
from devstack.processes import (
    LOOPBACK,
    ROOT,
    VENV_BIN,
    ComponentFailed,
    ManagedProcess,
    free_port,
    port_open,
    wait_for,
)

BUCKETS = ("crm-documents", "crm-attachments")
# Where the fault suite has always imported these probes from (tests/chaos/harness.py).
_grpc_serving = services.grpc_serving
_rpc_consumed = services.rpc_consumed


@dataclass
class Stack:
    """The running local stack; ``env`` is what every project process reads."""

    var_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    processes: list[ManagedProcess] = field(default_factory=list)
    vhost: str | None = None
    urls: dict[str, str] = field(default_factory=dict)
    started_rabbitmq: bool = False

    def spawn(self, name: str, argv: list[str], extra_env: dict[str, str] | None = None) -> ManagedProcess:
        logs = self.var_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / f"{name}.log"
        env = {**os.environ, **self.env, **(extra_env or {})}
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
        with log.open("ab") as fh:
            proc = subprocess.Popen(
                argv,
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=ROOT,
                start_new_session=True,
            )
        managed = ManagedProcess(name, proc, log, list(argv), dict(extra_env or {}))
        self.processes.append(managed)
        return managed

    def process(self, name: str) -> ManagedProcess:
        """The running (latest) process called ``name``."""
        for managed in reversed(self.processes):
            if managed.name == name:
                return managed
        raise KeyError(name)

    def respawn(self, name: str) -> ManagedProcess:
        """Start ``name`` again with the same command and settings (after a kill);
        the caller waits for whatever readiness it needs."""
        old = self.process(name)
        old.stop()
        self.processes.remove(old)
        return self.spawn(name, old.argv, old.extra_env)

    def restart_mongo(self) -> None:
        """Start SecantusDB again on the same port and data, and wait for it."""
        managed = self.respawn("secantusdb")
        wait_for("SecantusDB (restart)", lambda: _mongo_ping(self.env["MONGO_URI"]), 60, managed.log, managed.proc)

    # -- infrastructure ------------------------------------------------------------
    def start_rabbitmq(self, isolated_vhost: bool) -> None:
        """Reuse a broker on 127.0.0.1:5672, else start Debian's rabbitmq-server."""
        if not port_open(5672):
            server = shutil.which("rabbitmq-server") or "/usr/sbin/rabbitmq-server"
            if not Path(server).exists():
                raise ComponentFailed(
                    "RabbitMQ: nothing listens on 127.0.0.1:5672 and rabbitmq-server is not "
                    "installed (run scripts/bootstrap.sh)"
                )
            env = {
                **os.environ,
                "RABBITMQ_NODE_IP_ADDRESS": LOOPBACK,
                "RABBITMQ_DIST_PORT": "25672",
                "ERL_EPMD_ADDRESS": LOOPBACK,
            }
            subprocess.run([server, "-detached"], env=env, check=False)
            self.started_rabbitmq = True
            wait_for("RabbitMQ (127.0.0.1:5672)", lambda: port_open(5672), 60)
        vhost = "/"
        if isolated_vhost:
            vhost = f"crm-test-{uuid.uuid4().hex[:8]}"
            ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
            try:
                for args in (
                    ["add_vhost", vhost],
                    ["set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                ):
                    subprocess.run([ctl, "-q", *args], check=True, capture_output=True, timeout=60)
                self.vhost = vhost
            except (OSError, subprocess.SubprocessError) as exc:
                raise ComponentFailed(f"RabbitMQ: could not create test vhost {vhost}: {exc}") from exc
        quoted = "%2F" if vhost == "/" else vhost
        self.env["AMQP_URI"] = f"amqp://guest:guest@{LOOPBACK}:5672/{quoted}"

    def start_mongo(self) -> None:
        port = free_port()
        data = self.var_dir / "secantus"
        data.mkdir(parents=True, exist_ok=True)
        managed = self.spawn(
            "secantusdb",
            [
                sys.executable,
                "-m",
                "devstack.mongo_server",  # SecantusDB with its retryable-write pruning fixed
                "--host",
                LOOPBACK,
                "--port",
                str(port),
                "--storage-path",
                str(data),
                "--log-level",
                "WARNING",
                # Durable before acknowledged: every commit fsyncs the WiredTiger log.
                # Without it a SIGKILL loses the last ~40 ms of acknowledged commits.
                "--sync-on-commit",
            ],
        )
        self.env["MONGO_URI"] = f"mongodb://{LOOPBACK}:{port}/?directConnection=true"
        wait_for(
            f"SecantusDB (127.0.0.1:{port})",
            lambda: _mongo_ping(self.env["MONGO_URI"]),
            60,
            managed.log,
            managed.proc,
        )

    def start_s3(self) -> None:
        access = self.env.setdefault("S3_ACCESS_KEY", os.environ.get("S3_ACCESS_KEY", "crm-dev-access"))
        secret = self.env.setdefault("S3_SECRET_KEY", os.environ.get("S3_SECRET_KEY", "crm-dev-secret-key"))
        data = self.var_dir / "seaweedfs"
        data.mkdir(parents=True, exist_ok=True)
        config = self.var_dir / "s3-identities.json"
        config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "crm",
                            "credentials": [{"accessKey": access, "secretKey": secret}],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        config.chmod(0o600)
        ports = {k: free_port(10000) for k in ("master", "volume", "filer", "s3")}
        managed = self.spawn(
            "seaweedfs",
            [
                str(VENV_BIN / "weed"),
                "mini",
                f"-dir={data}",
                f"-ip={LOOPBACK}",
                f"-ip.bind={LOOPBACK}",
                f"-s3.config={config}",
                f"-master.port={ports['master']}",
                f"-volume.port={ports['volume']}",
                f"-filer.port={ports['filer']}",
                f"-s3.port={ports['s3']}",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-webdav=false",
                "-admin.ui=false",
                f"-admin.port={free_port(10000)}",
            ],
        )
        self.env["S3_ENDPOINT"] = f"{LOOPBACK}:{ports['s3']}"
        wait_for(f"SeaweedFS S3 (127.0.0.1:{ports['s3']})", self._create_buckets, 90, managed.log, managed.proc)

    def _create_buckets(self) -> bool:
        from minio import Minio

        client = Minio(
            self.env["S3_ENDPOINT"],
            access_key=self.env["S3_ACCESS_KEY"],
            secret_key=self.env["S3_SECRET_KEY"],
            secure=False,
        )
        for bucket in BUCKETS:
            if not client.bucket_exists(bucket):
                client.make_bucket(bucket)
        return True

    # -- project processes (devstack/services.py) -------------------------------------
    def start_services(self, gateway_port: int | None = None, grpc_port: int | None = None) -> None:
        services.start_services(self, gateway_port, grpc_port)

    def start_notifications(self, webhooks_url: str) -> ManagedProcess:
        return services.start_notifications(self, webhooks_url)

    def start_channel_stand_ins(self, webhooks_url: str) -> None:
        services.start_channel_stand_ins(self, webhooks_url)

    def stop(self) -> None:
        env_file.remove(self.var_dir)
        for managed in reversed(self.processes):
            managed.stop()
        self.processes.clear()
        ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
        if self.vhost:
            subprocess.run([ctl, "-q", "delete_vhost", self.vhost], check=False, capture_output=True, timeout=60)
            self.vhost = None
        if self.started_rabbitmq:
            # A broker this stack started is stopped with it; a reused one is left alone.
            subprocess.run([ctl, "-q", "shutdown"], check=False, capture_output=True, timeout=120)
            self.started_rabbitmq = False


def _mongo_ping(uri: str) -> bool:
    import pymongo

    client: pymongo.MongoClient = pymongo.MongoClient(uri, serverSelectionTimeoutMS=500)
    try:
        client.admin.command("ping")
        return True
    finally:
        client.close()


def development_env(var_dir: Path) -> dict[str, str]:
    """Settings of a development stack (development mode allows dev secrets)."""
    return {
        "CRM_ENV": os.environ.get("CRM_ENV", "development"),
        "OTEL_TRACES_DIR": str(var_dir / "traces"),
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "PYTHONUNBUFFERED": "1",
    }


def start_stack(
    var_dir: Path,
    *,
    isolated_vhost: bool,
    gateway_port: int | None = None,
    grpc_port: int | None = None,
    with_services: bool = True,
) -> Stack:
    stack = Stack(var_dir=var_dir, env=development_env(var_dir))
    try:
        stack.start_rabbitmq(isolated_vhost)
        stack.start_mongo()
        stack.start_s3()
        if with_services:
            stack.start_services(gateway_port, grpc_port)
    except BaseException:
        stack.stop()
        raise
    return stack
