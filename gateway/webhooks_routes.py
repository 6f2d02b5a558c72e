"""Delivery-status webhooks of the messaging providers (WhatsApp Cloud API, SMS).

Providers call these without a user token: the notifications service checks the
provider's own signature (``X-Hub-Signature-256``, ``X-Twilio-Signature``), so the
gateway passes the request on untouched, raw body included, and answers with what
the service made of it: 200 (applied, or kept for later), 403 for a request the
provider did not sign, 400 for one that is not the documented shape, 404 for a
channel that is not configured. A 5xx makes the provider retry later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from crm_platform.access import PROVIDER
from crm_platform.grpc_support import caller_metadata
from crm_platform.proto_gen.crm.notifications.v1 import notifications_pb2 as npb
from gateway.deps import Backend

CHANNELS = ("whatsapp", "sms")
CALLER_ROLE = PROVIDER  # the identity the gateway asserts for these calls


def register(app: FastAPI, backend: Backend) -> None:
    for channel in CHANNELS:
        # Meta checks a new subscription with a GET (hub.challenge); the reports come as POSTs.
        app.add_api_route(
            f"/webhooks/{channel}",
            _endpoint(backend, channel),
            methods=["GET", "POST"],
            include_in_schema=False,
            name=f"webhook_{channel}",
        )


def _endpoint(backend: Backend, channel: str) -> Callable[[Request], Awaitable[PlainTextResponse]]:
    async def webhook(request: Request) -> PlainTextResponse:
        message = npb.WebhookRequest(
            channel=channel,
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),  # names in lower case already (ASGI)
            query=dict(request.query_params),
            body=await request.body(),
        )
        # Signed per request: an assertion lives 15 minutes (crm_platform.identity).
        metadata = caller_metadata(f"webhook-{channel}", CALLER_ROLE)
        call = backend.notifications.ReceiveWebhook
        reply = await run_in_threadpool(call, message, metadata=metadata, timeout=backend.timeout)
        return PlainTextResponse(reply.text or "ok")

    return webhook
