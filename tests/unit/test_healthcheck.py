"""crm-healthcheck exit codes against real loopback servers it probes in containers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from crm_platform.healthcheck import main

LOOPBACK = "127.0.0.1"
SERVING = "crm.test.v1.Serving"
NOT_SERVING = "crm.test.v1.Draining"
TIMEOUT = ["--timeout", "2"]


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def grpc_target() -> Iterator[str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    servicer.set(SERVING, health_pb2.HealthCheckResponse.SERVING)
    servicer.set(NOT_SERVING, health_pb2.HealthCheckResponse.NOT_SERVING)
    port = server.add_insecure_port(f"{LOOPBACK}:0")
    server.start()
    try:
        yield f"{LOOPBACK}:{port}"
    finally:
        server.stop(grace=None).wait(5)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = 200 if self.path == "/healthz" else 503
        body = b"ok" if code == 200 else b"down"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def http_base() -> Iterator[str]:
    server = ThreadingHTTPServer((LOOPBACK, 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_grpc_server_that_is_serving_is_healthy(grpc_target: str) -> None:
    assert main([*TIMEOUT, "grpc", grpc_target]) == 0
    assert main([*TIMEOUT, "grpc", grpc_target, SERVING]) == 0


def test_grpc_service_not_serving_is_unhealthy_and_named(grpc_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*TIMEOUT, "grpc", grpc_target, NOT_SERVING]) == 1
    err = capsys.readouterr().err
    assert NOT_SERVING in err and "NOT_SERVING" in err
    assert len(err.strip().splitlines()) == 1


def test_grpc_service_the_server_does_not_know_is_unhealthy(grpc_target: str) -> None:
    assert main([*TIMEOUT, "grpc", grpc_target, "crm.test.v1.Unknown"]) == 1


def test_unreachable_grpc_server_fails_within_the_timeout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = f"{LOOPBACK}:{_closed_port()}"
    started = time.monotonic()
    assert main(["--timeout", "1", "grpc", target]) == 1
    assert time.monotonic() - started < 5
    assert target in capsys.readouterr().err


def test_http_200_is_healthy(http_base: str) -> None:
    assert main([*TIMEOUT, "http", f"{http_base}/healthz"]) == 0


def test_http_error_status_is_unhealthy(http_base: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*TIMEOUT, "http", f"{http_base}/broken"]) == 1
    assert "status 503" in capsys.readouterr().err


def test_unreachable_http_server_is_unhealthy(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://{LOOPBACK}:{_closed_port()}/healthz"
    assert main([*TIMEOUT, "http", url]) == 1
    assert url in capsys.readouterr().err


def test_http_probe_refuses_non_http_urls() -> None:
    assert main(["http", "file:///etc/passwd"]) == 1


def test_unreachable_broker_is_unhealthy_without_leaking_the_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    uri = f"amqp://crm:s3cret-pass@{LOOPBACK}:{_closed_port()}/"
    started = time.monotonic()
    assert main(["--timeout", "1", "amqp", uri]) == 1
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert err.startswith("unhealthy: amqp ") and "s3cret-pass" not in err


def test_broker_uri_defaults_to_amqp_uri_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _closed_port()
    monkeypatch.setenv("AMQP_URI", f"amqp://guest:guest@{LOOPBACK}:{port}/")
    assert main(["--timeout", "1", "amqp"]) == 1
    assert f":{port}" in capsys.readouterr().err
