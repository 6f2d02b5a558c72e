"""The gateway's provider webhooks, with the notifications service replaced by a
recording stub: the request goes on untouched, under a caller assertion that is
still valid however long the gateway has been running."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crm_platform import identity
from crm_platform.proto_gen.crm.notifications.v1 import notifications_pb2 as npb
from gateway import webhooks_routes


class RecordingNotifications:
    def __init__(self) -> None:
        self.calls: list[tuple[npb.WebhookRequest, dict[str, str]]] = []

    def ReceiveWebhook(self, request: npb.WebhookRequest, metadata: Any, timeout: float) -> npb.WebhookResponse:
        self.calls.append((request, dict(metadata)))
        return npb.WebhookResponse(text=request.query.get("hub.challenge", ""), applied=1)


@pytest.fixture
def stub() -> RecordingNotifications:
    return RecordingNotifications()


class Client:
    """Calls the app in process over ASGI, one request at a time."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
                return await client.request(method, url, **kwargs)

        return asyncio.run(call())

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)


def gateway(stub: RecordingNotifications) -> Client:
    app = FastAPI()
    webhooks_routes.register(app, SimpleNamespace(notifications=stub, timeout=5.0))  # type: ignore[arg-type]
    return Client(app)


@pytest.fixture
def client(stub: RecordingNotifications) -> Client:
    return gateway(stub)


def test_the_provider_request_is_passed_on_untouched(client: Client, stub: RecordingNotifications) -> None:
    body = b'{"object": "whatsapp_business_account", "entry": []}'
    reply = client.post("/webhooks/whatsapp?x=1", content=body, headers={"X-Hub-Signature-256": "sha256=ab"})
    assert reply.status_code == 200 and reply.text == "ok"
    ((request, _),) = stub.calls
    assert (request.channel, request.method, request.body) == ("whatsapp", "POST", body)
    assert request.headers["x-hub-signature-256"] == "sha256=ab" and dict(request.query) == {"x": "1"}
    assert request.url.endswith("/webhooks/whatsapp?x=1")
    challenge = client.get("/webhooks/whatsapp", params={"hub.challenge": "42"})
    assert challenge.text == "42"


def test_the_caller_assertion_is_fresh_hours_after_the_gateway_started(
    stub: RecordingNotifications, monkeypatch: pytest.MonkeyPatch
) -> None:
    three_hours_ago = identity.time.time() - 3 * 3600
    monkeypatch.setattr(identity.time, "time", lambda: three_hours_ago)
    client = gateway(stub)  # the gateway starts three hours ago...
    client.post("/webhooks/sms", content=b"MessageSid=SM1")
    monkeypatch.undo()  # ...and a provider calls now
    client.post("/webhooks/sms", content=b"MessageSid=SM2")
    start_up, now = (metadata["x-crm-caller"] for _, metadata in stub.calls)
    with pytest.raises(identity.InvalidCaller):
        identity.verify_caller(start_up)  # an assertion lives 15 minutes
    assert identity.verify_caller(now) == ("webhook-sms", "provider")
