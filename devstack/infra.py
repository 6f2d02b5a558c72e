"""Start and stop the local infrastructure and the project's processes.

Everything binds to 127.0.0.1. Each component is health-checked with a deadline,
and a component that does not come up is named in the error. ``Stack.stop()``
terminates every process this module started (process groups, SIGTERM then
SIGKILL), so tests leave nothing running.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.1"
BUCKETS = ("crm-documents", "crm-attachments")


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

    # -- project processes ---------------------------------------------------------
    def start_services(self, gateway_port: int | None = None, grpc_port: int | None = None) -> None:
        grpc_port = grpc_port or free_port()
        gateway_port = gateway_port or free_port()
        self.env["BENEFICIARIES_GRPC"] = f"{LOOPBACK}:{grpc_port}"
        amqp = self.spawn(
            "beneficiaries-amqp",
            [str(VENV_BIN / "crm-beneficiaries-amqp")],
            {"OTEL_SERVICE_NAME": "beneficiaries"},
        )
        # The nameko service declares and binds its event queues at start-up; wait for
        # it before anything publishes, or the first events would find no queue.
        wait_for(
            "beneficiaries nameko service",
            lambda: _rpc_consumed(self.env["AMQP_URI"], "rpc-beneficiaries"),
            60,
            amqp.log,
            amqp.proc,
        )
        grpc_proc = self.spawn(
            "beneficiaries-grpc",
            [str(VENV_BIN / "crm-beneficiaries-grpc")],
            {"GRPC_PORT": str(grpc_port), "OTEL_SERVICE_NAME": "beneficiaries-grpc"},
        )
        self.env["ACTAS_GRPC"] = f"{LOOPBACK}:{free_port()}"
        actas_grpc = self.spawn(
            "actas-grpc",
            [str(VENV_BIN / "crm-actas-grpc")],
            {"ACTAS_GRPC_PORT": self.env["ACTAS_GRPC"].rsplit(":", 1)[1], "OTEL_SERVICE_NAME": "actas-grpc"},
        )
        ingest = self.spawn("actas-ingest", [str(VENV_BIN / "crm-actas-ingest")], {"OTEL_SERVICE_NAME": "actas-ingest"})
        self.env["DOCUMENTS_GRPC"] = f"{LOOPBACK}:{free_port()}"
        self.env["PUBLIC_VERIFY_BASE_URL"] = f"http://{LOOPBACK}:{gateway_port}/verificar"
        documents = self.spawn(
            "documents",
            [str(VENV_BIN / "crm-documents")],
            {
                "DOCUMENTS_GRPC_PORT": self.env["DOCUMENTS_GRPC"].rsplit(":", 1)[1],
                "DOCUMENTS_DEV_IDENTITY_DIR": str(self.var_dir / "documents-identity"),
                "OTEL_SERVICE_NAME": "documents",
            },
        )
        notifications = self.start_notifications(f"http://{LOOPBACK}:{gateway_port}/webhooks")
        gateway = self.spawn(
            "gateway",
            [str(VENV_BIN / "crm-gateway")],
            {"HTTP_PORT": str(gateway_port), "OTEL_SERVICE_NAME": "gateway"},
        )
        wait_for(
            "beneficiaries gRPC server",
            lambda: _grpc_serving(self.env["BENEFICIARIES_GRPC"]),
            60,
            grpc_proc.log,
            grpc_proc.proc,
        )
        wait_for(
            "actas gRPC server", lambda: _grpc_serving(self.env["ACTAS_GRPC"]), 60, actas_grpc.log, actas_grpc.proc
        )
        wait_for(
            "actas ingest worker",
            lambda: _rpc_consumed(self.env["AMQP_URI"], "actas.kiosk_submissions"),
            60,
            ingest.log,
            ingest.proc,
        )
        wait_for(
            "documents service", lambda: _grpc_serving(self.env["DOCUMENTS_GRPC"]), 60, documents.log, documents.proc
        )
        wait_for(
            "documents consumer",
            lambda: _rpc_consumed(self.env["AMQP_URI"], "documents.acta_sealed"),
            60,
            documents.log,
            documents.proc,
        )
        wait_for(
            "notifications service",
            lambda: _grpc_serving(self.env["NOTIFICATIONS_GRPC"]),
            60,
            notifications.log,
            notifications.proc,
        )
        # Its queue must be bound before an acta is sealed, or that event finds no queue.
        wait_for(
            "notifications consumer",
            lambda: _rpc_consumed(self.env["AMQP_URI"], "notifications.acta_sealed"),
            60,
            notifications.log,
            notifications.proc,
        )
        wait_for(
            "gateway",
            lambda: _http_ok(f"http://{LOOPBACK}:{gateway_port}/healthz"),
            60,
            gateway.log,
            gateway.proc,
        )
        self.urls = {
            "gateway": f"http://{LOOPBACK}:{gateway_port}",
            "api_docs": f"http://{LOOPBACK}:{gateway_port}/docs",
            "beneficiaries_grpc": self.env["BENEFICIARIES_GRPC"],
            "actas_grpc": self.env["ACTAS_GRPC"],
            "documents_grpc": self.env["DOCUMENTS_GRPC"],
            "notifications_grpc": self.env["NOTIFICATIONS_GRPC"],
        }

    def start_notifications(self, webhooks_url: str) -> ManagedProcess:
        """``crm-notifications``, after the channel stand-ins it sends to.

        The process needs BENEFICIARIES_GRPC and PUBLIC_VERIFY_BASE_URL (set by
        ``start_services``) and the channels' settings: a channel without its base
        URL or host is simply not registered. Backoff is short here, so a test's
        provider outage resolves in seconds rather than minutes. The stand-ins
        report delivery to the gateway's webhooks under ``webhooks_url``."""
        self.start_channel_stand_ins(webhooks_url)
        self.env["SMS_STATUS_CALLBACK_URL"] = f"{webhooks_url}/sms"
        self.env["NOTIFICATIONS_GRPC"] = f"{LOOPBACK}:{free_port()}"
        return self.spawn(
            "notifications",
            [str(VENV_BIN / "crm-notifications")],
            {
                "NOTIFICATIONS_GRPC_PORT": self.env["NOTIFICATIONS_GRPC"].rsplit(":", 1)[1],
                "NOTIFY_RETRY_BASE_SECONDS": os.environ.get("NOTIFY_RETRY_BASE_SECONDS", "0.5"),
                "NOTIFY_RETRY_CAP_SECONDS": os.environ.get("NOTIFY_RETRY_CAP_SECONDS", "5"),
                "OTEL_SERVICE_NAME": "notifications",
            },
        )

    def start_channel_stand_ins(self, webhooks_url: str) -> None:
        """The WhatsApp and SMS provider stand-ins and the loopback SMTP server
        (``python -m devstack.providers``), whose settings go into ``self.env``."""
        from devstack.providers.whatsapp import DEV_NOT_ON_WHATSAPP

        command = [
            *(sys.executable, "-m", "devstack.providers"),
            *("--whatsapp-webhook-url", f"{webhooks_url}/whatsapp"),
            *("--undeliverable-later", DEV_NOT_ON_WHATSAPP),
        ]
        managed = self.spawn("providers", command)
        wait_for("provider stand-ins", lambda: _printed_ready(managed.log), 30, managed.log, managed.proc)
        for line in managed.log.read_text(errors="replace").splitlines():
            name, sep, value = line.partition("=")
            if sep and name.isupper() and name.replace("_", "").isalnum():
                self.env[name] = value

    def stop(self) -> None:
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


def _grpc_serving(target: str) -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def _rpc_consumed(amqp_uri: str, queue: str) -> bool:
    from kombu import Connection

    with Connection(amqp_uri, connect_timeout=2) as conn:
        ok = conn.default_channel.queue_declare(queue=queue, passive=True)
        return bool(ok.consumer_count > 0)


def _printed_ready(log: Path) -> bool:
    return "ready" in log.read_text(errors="replace").splitlines()


def _http_ok(url: str) -> bool:
    import httpx

    return httpx.get(url, timeout=1).status_code == 200


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
