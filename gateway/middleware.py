"""ASGI middleware: request body size limit, security headers."""

from __future__ import annotations

import json
from typing import Any

Scope = dict[str, Any]


class BodySizeLimit:
    """Refuses bodies over ``max_bytes`` with 413, whether declared (before reading
    any of it) or streamed; ``larger`` raises the limit for paths starting with a
    prefix (uploads), and ``messages`` says in the user's words what was too large
    there (a photo)."""

    def __init__(
        self,
        app: Any,
        max_bytes: int,
        larger: dict[str, int] | None = None,
        messages: dict[str, str] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}
        self.messages = messages or {}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = next((n for prefix, n in self.larger.items() if path.startswith(prefix)), self.max_bytes)
        message = next((m for prefix, m in self.messages.items() if path.startswith(prefix)), "")
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, message or f"El cuerpo supera {limit} bytes")
            return
        seen = 0

        async def limited_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._reject(send, message or f"El cuerpo supera {limit} bytes")

    async def _reject(self, send: Any, message: str) -> None:
        payload = json.dumps({"error": message}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})


class _TooLarge(Exception):
    pass


# Pages (/docs, /redoc, /verificar): scripts only from the gateway itself, styles
# inline too (Swagger UI and ReDoc set them), images and fonts also as data: URIs,
# ReDoc's search in a blob: worker; never framed. Anything else (JSON) loads nothing.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
API_POLICY = "default-src 'none'; frame-ancestors 'none'"


class SecurityHeaders:
    """Adds to every answer Content-Security-Policy (``PAGE_POLICY`` for HTML),
    X-Frame-Options, X-Content-Type-Options and Referrer-Policy, and drops any
    ``server`` header the app set (uvicorn's own is turned off in gateway.main)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                names = {k.lower() for k, _ in headers}
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                policy = PAGE_POLICY if content_type.startswith(b"text/html") else API_POLICY
                for name, value in (
                    (b"content-security-policy", policy.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ):
                    if name not in names:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, secured_send)
