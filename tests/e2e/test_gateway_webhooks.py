"""End to end through the gateway's provider webhooks: the stand-ins report each
delivery to ``/webhooks/whatsapp`` and ``/webhooks/sms`` as Meta and Twilio do,
and the notifications service applies what the providers signed, and nothing else.

A person whose number WhatsApp accepts and later reports as not on WhatsApp
(131026) gets the reminder by SMS instead, and both reports land in the log."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

import httpx

from devstack.infra import Stack
from devstack.providers.whatsapp import DEV_NOT_ON_WHATSAPP
from tests.e2e.conftest import new_person
from tests.helpers import eventually

API = "/api/v1"
REMINDER = {"fecha": "5 de diciembre", "hora": "3:00 p. m.", "lugar": "Casa comunal", "tema": "el vivero"}


def _final(http: httpx.Client, headers: dict[str, str], key: str) -> dict[str, Any] | None:
    reply = http.get(f"{API}/notifications/{key}", headers=headers)
    assert reply.status_code == 200, reply.text
    found: dict[str, Any] = reply.json()
    return found if found["status"] not in ("queued", "sent") else None


def test_a_number_whatsapp_reports_undeliverable_gets_the_reminder_by_sms_and_both_reports_are_logged(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor, coordinator = as_role["gestor"], as_role["coordinator"]
    local_number = DEV_NOT_ON_WHATSAPP.removeprefix("+57")
    person = http.post(
        f"{API}/beneficiaries", headers=gestor, json=new_person(community["id"], whatsapp_phone=local_number)
    ).json()
    consent = http.post(f"{API}/beneficiaries/{person['id']}/consents", headers=gestor, json={"kind": "notifications"})
    assert consent.status_code == 200, consent.text
    key = f"vivero-{uuid.uuid4().hex[:8]}"
    body = {"recipient_ids": [person["id"]], "template": "recordatorio_reunion", "variables": REMINDER, "key": key}
    sent = http.post(f"{API}/notifications", headers=coordinator, json=body)
    assert sent.status_code == 202, sent.text
    (message_key,) = sent.json()["message_keys"]

    done = eventually(lambda: _final(http, coordinator, message_key), timeout=60)
    assert done is not None and done["status"] == "delivered"
    steps = [(a["channel"], a["outcome"]) for a in done["attempts"]]
    assert steps == [("whatsapp", "sent"), ("whatsapp", "permanent"), ("sms", "sent"), ("sms", "delivered")]
    assert "131026" in done["attempts"][1]["detail"]
    whatsapp_id, sms_id = done["attempts"][0]["provider_message_id"], done["attempts"][2]["provider_message_id"]
    assert whatsapp_id.startswith("wamid.") and sms_id.startswith("SM")
    assert done["attempts"][3]["provider_message_id"] == sms_id


def _signed(secret: str, body: bytes) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def _status(message_id: str, status: str) -> bytes:
    change = {
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "statuses": [
                {"id": message_id, "status": status, "timestamp": "1795000000", "recipient_id": "573001234567"}
            ],
        },
    }
    document = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [change]}]}
    return json.dumps(document).encode()


def test_the_webhooks_accept_only_what_the_provider_signed(stack: Stack, http: httpx.Client) -> None:
    secret, token = stack.env["WHATSAPP_APP_SECRET"], stack.env["WHATSAPP_VERIFY_TOKEN"]
    check = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"}
    subscribed = http.get("/webhooks/whatsapp", params=check)
    assert subscribed.status_code == 200 and subscribed.text == "1158201444"
    assert http.get("/webhooks/whatsapp", params={**check, "hub.verify_token": "adivina"}).status_code == 403

    report = _status("wamid.HBgMNTczMDAxMjM0NTY3FQIAERgS", "delivered")
    forged = http.post("/webhooks/whatsapp", content=report, headers=_signed("otro-secreto", report))
    assert forged.status_code == 403, forged.text
    unsigned = http.post("/webhooks/whatsapp", content=report, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 403
    garbage = b'{"object": "whatsapp_business_account", "entry": [{"changes": "no"}]}'
    malformed = http.post("/webhooks/whatsapp", content=garbage, headers=_signed(secret, garbage))
    assert malformed.status_code == 400, malformed.text
    assert "Webhook" in malformed.json()["error"]
    # a genuine report about a message nobody sent is kept for later, not refused (the
    # provider can report before the send's reply was written)
    accepted = http.post("/webhooks/whatsapp", content=report, headers=_signed(secret, report))
    assert accepted.status_code == 200, accepted.text

    forged_sms = http.post(
        "/webhooks/sms",
        data={"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"},
        headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
    )
    assert forged_sms.status_code == 403
    assert http.post("/webhooks/email", content=b"{}").status_code == 404
