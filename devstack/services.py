"""The project's own processes in the local stack, started in order and each
waited for until it answers.

``start_services`` runs the services, the kiosk ingest worker and the gateway
(``crm-*`` console scripts from the venv) against the infrastructure of a
``Stack``, and records their addresses in ``stack.env`` and ``stack.urls``;
``start_notifications`` also starts the channel stand-ins it sends to. The
readiness probes (gRPC health, a queue's consumers, an HTTP 200) are the ones the
fault suite uses again after a restart.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from devstack import env_file
from devstack.processes import LOOPBACK, VENV_BIN, ManagedProcess, free_port, wait_for

if TYPE_CHECKING:
    from devstack.infra import Stack


def start_services(stack: Stack, gateway_port: int | None = None, grpc_port: int | None = None) -> None:
    """Every project process, in the order their queues and peers need; returns when
    each one answers its readiness probe."""
    grpc_port = grpc_port or free_port()
    gateway_port = gateway_port or free_port()
    stack.env["BENEFICIARIES_GRPC"] = f"{LOOPBACK}:{grpc_port}"
    amqp = stack.spawn(
        "beneficiaries-amqp",
        [str(VENV_BIN / "crm-beneficiaries-amqp")],
        {"OTEL_SERVICE_NAME": "beneficiaries"},
    )
    # The nameko service declares and binds its event queues at start-up; wait for
    # it before anything publishes, or the first events would find no queue.
    wait_for(
        "beneficiaries nameko service",
        lambda: rpc_consumed(stack.env["AMQP_URI"], "rpc-beneficiaries"),
        60,
        amqp.log,
        amqp.proc,
    )
    grpc_proc = stack.spawn(
        "beneficiaries-grpc",
        [str(VENV_BIN / "crm-beneficiaries-grpc")],
        {"GRPC_PORT": str(grpc_port), "OTEL_SERVICE_NAME": "beneficiaries-grpc"},
    )
    stack.env["ACTAS_GRPC"] = f"{LOOPBACK}:{free_port()}"
    actas_grpc = stack.spawn(
        "actas-grpc",
        [str(VENV_BIN / "crm-actas-grpc")],
        {
            "ACTAS_GRPC_PORT": stack.env["ACTAS_GRPC"].rsplit(":", 1)[1],
            "OTEL_SERVICE_NAME": "actas-grpc",
            "ACTAS_DEV_HEAD_KEY_DIR": str(stack.var_dir / "actas-head-key"),
            "ACTAS_HEAD_INTERVAL_SECONDS": os.environ.get("ACTAS_HEAD_INTERVAL_SECONDS", "60"),
        },
    )
    ingest = stack.spawn("actas-ingest", [str(VENV_BIN / "crm-actas-ingest")], {"OTEL_SERVICE_NAME": "actas-ingest"})
    stack.env["DOCUMENTS_GRPC"] = f"{LOOPBACK}:{free_port()}"
    stack.env["INCOME_GRPC"] = f"{LOOPBACK}:{free_port()}"  # documents reads approved plans from it
    stack.env["PUBLIC_VERIFY_BASE_URL"] = f"http://{LOOPBACK}:{gateway_port}/verificar"
    documents = stack.spawn(
        "documents",
        [str(VENV_BIN / "crm-documents")],
        {
            "DOCUMENTS_GRPC_PORT": stack.env["DOCUMENTS_GRPC"].rsplit(":", 1)[1],
            "DOCUMENTS_DEV_IDENTITY_DIR": str(stack.var_dir / "documents-identity"),
            "OTEL_SERVICE_NAME": "documents",
        },
    )
    income = stack.spawn(
        "income",
        [str(VENV_BIN / "crm-income")],
        {
            "INCOME_GRPC_PORT": stack.env["INCOME_GRPC"].rsplit(":", 1)[1],
            "OTEL_SERVICE_NAME": "income",
            # The daily close of business is checked once a day here (production: every
            # 600 s), so a test's back-dated postings are not refused midway by a close
            # nobody asked for; tests and `make demo` close days explicitly.
            "INCOME_COB_CHECK_SECONDS": os.environ.get("INCOME_COB_CHECK_SECONDS", "86400"),
        },
    )
    notifications = start_notifications(stack, f"http://{LOOPBACK}:{gateway_port}/webhooks")
    stack.env["REPORTS_GRPC"] = f"{LOOPBACK}:{free_port()}"
    reports = stack.spawn(
        "reports",
        [str(VENV_BIN / "crm-reports")],
        {
            "REPORTS_GRPC_PORT": stack.env["REPORTS_GRPC"].rsplit(":", 1)[1],
            # Small data here: refresh the KPI snapshots often, so a page shows a
            # seal within seconds (production: 60).
            "REPORTS_REFRESH_SECONDS": os.environ.get("REPORTS_REFRESH_SECONDS", "2"),
            "OTEL_SERVICE_NAME": "reports",
        },
    )
    gateway = stack.spawn(
        "gateway",
        [str(VENV_BIN / "crm-gateway")],
        {"HTTP_PORT": str(gateway_port), "OTEL_SERVICE_NAME": "gateway"},
    )
    wait_for(
        "beneficiaries gRPC server",
        lambda: grpc_serving(stack.env["BENEFICIARIES_GRPC"]),
        60,
        grpc_proc.log,
        grpc_proc.proc,
    )
    wait_for("actas gRPC server", lambda: grpc_serving(stack.env["ACTAS_GRPC"]), 60, actas_grpc.log, actas_grpc.proc)
    wait_for(
        "actas ingest worker",
        lambda: rpc_consumed(stack.env["AMQP_URI"], "actas.kiosk_submissions"),
        60,
        ingest.log,
        ingest.proc,
    )
    wait_for("documents service", lambda: grpc_serving(stack.env["DOCUMENTS_GRPC"]), 60, documents.log, documents.proc)
    for queue in ("documents.acta_sealed", "documents.action_plan_approved"):
        wait_for(
            "documents consumer",
            functools.partial(rpc_consumed, stack.env["AMQP_URI"], queue),
            60,
            documents.log,
            documents.proc,
        )
    wait_for("income service", lambda: grpc_serving(stack.env["INCOME_GRPC"]), 60, income.log, income.proc)
    wait_for(
        "income consumer",
        lambda: rpc_consumed(stack.env["AMQP_URI"], "income.acta_sealed"),
        60,
        income.log,
        income.proc,
    )
    wait_for(
        "notifications service",
        lambda: grpc_serving(stack.env["NOTIFICATIONS_GRPC"]),
        60,
        notifications.log,
        notifications.proc,
    )
    # Its queues must be bound before an acta is sealed or a loan closed, or those events find no queue.
    for queue in (
        "notifications.acta_sealed",
        "notifications.loan_repayment_due",
        "notifications.loan_became_overdue",
    ):
        wait_for(
            "notifications consumer",
            functools.partial(rpc_consumed, stack.env["AMQP_URI"], queue),
            60,
            notifications.log,
            notifications.proc,
        )
    wait_for("reports service", lambda: grpc_serving(stack.env["REPORTS_GRPC"]), 60, reports.log, reports.proc)
    # Bound before anything is registered or sealed, or those events find no queue.
    wait_for(
        "reports consumer",
        lambda: rpc_consumed(stack.env["AMQP_URI"], "reports.events"),
        60,
        reports.log,
        reports.proc,
    )
    wait_for(
        "gateway",
        lambda: http_ok(f"http://{LOOPBACK}:{gateway_port}/healthz"),
        60,
        gateway.log,
        gateway.proc,
    )
    stack.urls = {
        "gateway": f"http://{LOOPBACK}:{gateway_port}",
        "api_docs": f"http://{LOOPBACK}:{gateway_port}/docs",
        "beneficiaries_grpc": stack.env["BENEFICIARIES_GRPC"],
        "actas_grpc": stack.env["ACTAS_GRPC"],
        "documents_grpc": stack.env["DOCUMENTS_GRPC"],
        "notifications_grpc": stack.env["NOTIFICATIONS_GRPC"],
        "reports_grpc": stack.env["REPORTS_GRPC"],
        "income_grpc": stack.env["INCOME_GRPC"],
    }
    env_file.write(stack.var_dir, {**stack.env, "GATEWAY_URL": stack.urls["gateway"]})


def start_notifications(stack: Stack, webhooks_url: str) -> ManagedProcess:
    """``crm-notifications``, after the channel stand-ins it sends to.

    The process needs BENEFICIARIES_GRPC and PUBLIC_VERIFY_BASE_URL (set by
    ``start_services``) and the channels' settings: a channel without its base
    URL or host is simply not registered. Backoff is short here, so a test's
    provider outage resolves in seconds rather than minutes. The stand-ins
    report delivery to the gateway's webhooks under ``webhooks_url``."""
    start_channel_stand_ins(stack, webhooks_url)
    stack.env["SMS_STATUS_CALLBACK_URL"] = f"{webhooks_url}/sms"
    stack.env["NOTIFICATIONS_GRPC"] = f"{LOOPBACK}:{free_port()}"
    return stack.spawn(
        "notifications",
        [str(VENV_BIN / "crm-notifications")],
        {
            "NOTIFICATIONS_GRPC_PORT": stack.env["NOTIFICATIONS_GRPC"].rsplit(":", 1)[1],
            "NOTIFY_RETRY_BASE_SECONDS": os.environ.get("NOTIFY_RETRY_BASE_SECONDS", "0.5"),
            "NOTIFY_RETRY_CAP_SECONDS": os.environ.get("NOTIFY_RETRY_CAP_SECONDS", "5"),
            "OTEL_SERVICE_NAME": "notifications",
        },
    )


def start_channel_stand_ins(stack: Stack, webhooks_url: str) -> None:
    """The WhatsApp and SMS provider stand-ins and the loopback SMTP server
    (``python -m devstack.providers``), whose settings go into ``stack.env``."""
    from devstack.providers.whatsapp import DEV_NOT_ON_WHATSAPP

    command = [
        *(sys.executable, "-m", "devstack.providers"),
        *("--whatsapp-webhook-url", f"{webhooks_url}/whatsapp"),
        *("--undeliverable-later", DEV_NOT_ON_WHATSAPP),
    ]
    managed = stack.spawn("providers", command)
    wait_for("provider stand-ins", lambda: printed_ready(managed.log), 30, managed.log, managed.proc)
    for line in managed.log.read_text(errors="replace").splitlines():
        name, sep, value = line.partition("=")
        if sep and name.isupper() and name.replace("_", "").isalnum():
            stack.env[name] = value


# -- readiness probes ---------------------------------------------------------------
def grpc_serving(target: str) -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def rpc_consumed(amqp_uri: str, queue: str) -> bool:
    from kombu import Connection

    with Connection(amqp_uri, connect_timeout=2) as conn:
        ok = conn.default_channel.queue_declare(queue=queue, passive=True)
        return bool(ok.consumer_count > 0)


def printed_ready(log: Path) -> bool:
    return "ready" in log.read_text(errors="replace").splitlines()


def http_ok(url: str) -> bool:
    import httpx

    return httpx.get(url, timeout=1).status_code == 200
