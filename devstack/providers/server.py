"""The HTTP machinery the provider stand-ins share.

A stand-in is a real HTTP server on 127.0.0.1 (port 0 unless told otherwise)
that checks every request against a provider's documented contract and answers
as the provider does. Subclasses implement ``handle`` and the provider's error
shape; this module runs the server, records contract violations, and plays
scripted faults (``fail_next``) before any checking: a 429 with Retry-After, a
5xx, a hang longer than the client's timeout, or a success status with a body
that is not JSON.

A stand-in also calls back, as its provider does with delivery-status webhooks:
``post_webhook`` queues a signed request that one background thread sends in
order, retrying a few times with a short backoff when our side answers other
than 2xx or cannot be reached. Every webhook and each answer to it is recorded
in ``webhooks``; nothing our side does can block or crash the stand-in (the
sender is ``devstack.providers.webhooks``).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Self

from devstack.providers.webhooks import SentWebhook, WebhookPoster

FaultKind = int | Literal["hang", "garbage"]

GARBAGE = b"<html><head><title>Bad Gateway</title></head><body>upstream sent an invalid response</body></html>"


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query string
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    query: str = ""  # the raw query string, without the "?"

    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, status: int, document: Any, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
        return cls(status, json.dumps(document).encode("utf-8"), "application/json", headers)


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    retry_after: float | None = None
    code: int | None = None
    hang_seconds: float = 30.0


@dataclass(frozen=True)
class Violation:
    """A request that broke the provider's contract, and what the stand-in answered."""

    method: str
    path: str
    problem: str
    status: int


class StandIn(ABC):
    """A provider stand-in: start it (or use it as a context manager), point a client at ``url``."""

    #: the status the provider answers a successful send with
    success_status = 200

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.violations: list[Violation] = []
        self.requests = 0
        self._webhooks = WebhookPoster(type(self).__name__)

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", self._port), _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=type(self).__name__, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        self._webhooks.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open connections, including hung requests."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        self._webhooks.stop()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- scripting ---------------------------------------------------------------
    def fail_next(
        self,
        n: int = 1,
        kind: FaultKind = 503,
        *,
        retry_after: float | None = 1,
        code: int | None = None,
        hang_seconds: float = 30.0,
    ) -> None:
        """Answer the next ``n`` requests with a fault instead of handling them.

        ``kind`` is an HTTP status (answered with the provider's error body, with
        ``code`` as its error code if given, and ``Retry-After`` on a 429), or
        ``"hang"`` (no answer for ``hang_seconds`` or until ``stop``), or
        ``"garbage"`` (the success status with an HTML body). Faulted requests
        are not recorded as accepted.
        """
        with self._lock:
            for _ in range(n):
                self._faults.append(Fault(kind, retry_after, code, hang_seconds))

    # -- webhooks ----------------------------------------------------------------
    @property
    def webhooks(self) -> list[SentWebhook]:
        """The webhooks sent so far, each once our side accepted it or the stand-in gave up."""
        return list(self._webhooks.sent)

    def post_webhook(self, url: str, body: bytes, headers: Mapping[str, str], delay: float = 0.0) -> None:
        """Send a webhook in the background, ``delay`` seconds after the one queued before it."""
        self._webhooks.post(url, body, headers, delay)

    @property
    def webhook_retry_for(self) -> float:
        """Seconds a webhook our side does not accept is retried for (besides the
        first few quick tries); 0 by default, so a test sees a give-up at once."""
        return self._webhooks.retry_for

    @webhook_retry_for.setter
    def webhook_retry_for(self, seconds: float) -> None:
        self._webhooks.retry_for = seconds

    def wait_for_webhooks(self, timeout: float = 5.0) -> bool:
        """Wait until every queued webhook has been sent or given up on."""
        return self._webhooks.wait_idle(timeout)

    # -- per provider ------------------------------------------------------------
    @abstractmethod
    def handle(self, request: Request) -> Answer:
        """Check ``request`` against the contract and answer as the provider would."""

    @abstractmethod
    def error(self, status: int, code: int | None, message: str) -> Answer:
        """The provider's own error answer."""

    def violation(self, request: Request, problem: str, answer: Answer) -> Answer:
        """Record that ``request`` broke the contract; answer as the provider does."""
        with self._lock:
            self.violations.append(Violation(request.method, request.path, problem, answer.status))
        return answer

    # -- dispatch ----------------------------------------------------------------
    def dispatch(self, request: Request) -> Answer | None:
        """The answer to ``request``; ``None`` to hang up without answering."""
        with self._lock:
            self.requests += 1
            fault = self._faults.popleft() if self._faults else None
        if fault is None:
            try:
                return self.handle(request)
            except Exception as exc:  # a stand-in bug must show in the test, not hang the client
                return self.violation(
                    request, f"stand-in failed: {exc!r}", self.error(500, None, "Internal Server Error")
                )
        if fault.kind == "hang":
            self._stopping.wait(fault.hang_seconds)
            return None
        if fault.kind == "garbage":
            return Answer(self.success_status, GARBAGE, "text/html; charset=utf-8")
        status = int(fault.kind)
        answer = self.error(status, fault.code, _REASONS.get(status, "Error"))
        if status == 429 and fault.retry_after is not None:
            retry_after = f"{fault.retry_after:g}"
            answer = Answer(answer.status, answer.body, answer.content_type, (("Retry-After", retry_after),))
        return answer


_REASONS = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], stand_in: StandIn) -> None:
        self.stand_in = stand_in
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def track(self, connection: socket.socket, is_open: bool) -> None:
        with self._open_lock:
            if is_open:
                self._open.add(connection)
            else:
                self._open.discard(connection)

    def close_connections(self) -> None:
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients reuse connections as with the real provider
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        path, _, query = self.path.partition("?")
        request = Request(
            method=self.command,
            path=path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            query=query,
        )
        answer = self.server.stand_in.dispatch(request)
        if answer is None:
            self.close_connection = True
            return
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)
        except OSError:  # the client gave up (e.g. timed out) before the answer
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and ``make run`` read the recorded requests, not an access log."""
