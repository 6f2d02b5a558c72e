"""``make demo``, notifications part: a meeting reminder to the household on
WhatsApp, delivered (the provider's report comes back through the gateway's
webhook), nothing to the member without consent; and a neighbour whose number is
not on WhatsApp gets it by SMS."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from devstack.providers.whatsapp import DEV_NOT_ON_WHATSAPP

Check = Callable[[bool, str], None]
Expect = Callable[[httpx.Response, int], Any]
REMINDER = {"fecha": "sábado 28 de noviembre", "hora": "9:00 a. m.", "lugar": "Casa comunal", "tema": "la huerta"}
FINAL = ("delivered", "failed", "skipped")


def steps(
    http: httpx.Client, state: dict[str, Any], check: Check, expect: Expect
) -> list[tuple[str, Callable[[], None]]]:
    def final(message_key: str) -> dict[str, Any]:
        """The message once it has its last status (at most 30 s)."""
        deadline = time.monotonic() + 30
        while True:
            found: dict[str, Any] = expect(
                http.get(f"/api/v1/notifications/{message_key}", headers=state["coordinator"]), 200
            )
            if found["status"] in FINAL or time.monotonic() > deadline:
                return found
            time.sleep(0.3)

    def channels(found: dict[str, Any]) -> list[tuple[str, str]]:
        return [(a["channel"], a["outcome"]) for a in found["attempts"]]

    def household_reminder() -> None:
        g, head, child = state["gestor"], state["head"], state["child"]
        consent = {"kind": "notifications"}
        expect(http.post(f"/api/v1/beneficiaries/{head['id']}/consents", headers=g, json=consent), 200)
        body = {
            "family_id": state["family"]["id"],
            "template": "recordatorio_reunion",
            "variables": REMINDER,
            "key": f"demo-reunion-{uuid.uuid4().hex[:6]}",
        }
        sent = expect(http.post("/api/v1/notifications", headers=state["coordinator"], json=body), 202)
        keys = {key.rsplit(":", 1)[1]: key for key in sent["message_keys"]}
        to_head, to_child = final(keys[head["id"]]), final(keys[child["id"]])
        check(to_head["status"] == "delivered", f"la jefa de hogar quedó en {to_head['status']}")
        check(channels(to_head) == [("whatsapp", "sent"), ("whatsapp", "delivered")], "no fue por WhatsApp")
        check(to_child["status"] == "skipped", f"sin consentimiento quedó en {to_child['status']}")

    def sms_fallback() -> None:
        g = state["gestor"]
        neighbour = expect(
            http.post(
                "/api/v1/beneficiaries",
                headers=g,
                json={
                    "national_id": {"type": "CC", "number": "84.090.312"},
                    "first_names": "Ramiro",
                    "last_names": "Uriana",
                    "birth_date": "1979-07-02",
                    "sex": "male",
                    "community_id": state["community"]["id"],
                    "whatsapp_phone": DEV_NOT_ON_WHATSAPP,
                },
            ),
            201,
        )
        consent = {"kind": "notifications"}
        expect(http.post(f"/api/v1/beneficiaries/{neighbour['id']}/consents", headers=g, json=consent), 200)
        body = {
            "recipient_ids": [neighbour["id"]],
            "template": "recordatorio_reunion",
            "variables": REMINDER,
            "key": f"demo-sms-{uuid.uuid4().hex[:6]}",
        }
        (key,) = expect(http.post("/api/v1/notifications", headers=state["coordinator"], json=body), 202)[
            "message_keys"
        ]
        done = final(key)
        expected = [("whatsapp", "sent"), ("whatsapp", "permanent"), ("sms", "sent"), ("sms", "delivered")]
        check(channels(done) == expected, f"recorrido inesperado: {channels(done)}")

    return [
        ("Recordatorio al hogar: WhatsApp entregado a quien consintió, nada a quien no", household_reminder),
        ("Número sin WhatsApp: el proveedor lo informa y el recordatorio llega por SMS", sms_fallback),
    ]
