"""End to end through the gateway: a coordinator sends a meeting reminder to a
household; the member who consented gets it on WhatsApp (the provider stand-in),
the one who did not is skipped; the log answers by person and by send."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx

from tests.e2e.conftest import new_person
from tests.helpers import eventually

API = "/api/v1"


def test_a_meeting_reminder_reaches_the_household_members_who_consented(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor, coordinator = as_role["gestor"], as_role["coordinator"]
    family = http.post(
        f"{API}/families", headers=gestor, json={"community_id": community["id"], "name": "Hogar Ipuana"}
    )
    assert family.status_code == 201, family.text
    family_id = family.json()["id"]
    willing = http.post(
        f"{API}/beneficiaries",
        headers=gestor,
        json=new_person(community["id"], family_id=family_id, relationship="head", whatsapp_phone="3105550101"),
    ).json()
    unwilling = http.post(
        f"{API}/beneficiaries",
        headers=gestor,
        json=new_person(community["id"], family_id=family_id, relationship="spouse", whatsapp_phone="3105550102"),
    ).json()
    consent = http.post(f"{API}/beneficiaries/{willing['id']}/consents", headers=gestor, json={"kind": "notifications"})
    assert consent.status_code == 200, consent.text

    key = f"reunion-{uuid.uuid4().hex[:8]}"
    body = {
        "family_id": family_id,
        "template": "recordatorio_reunion",
        "variables": {"fecha": "28 de noviembre", "hora": "9:00 a. m.", "lugar": "Salón comunal", "tema": "huertas"},
        "key": key,
    }
    sent = http.post(f"{API}/notifications", headers=coordinator, json=body)
    assert sent.status_code == 202, sent.text
    assert len(sent.json()["message_keys"]) == 2 and sent.json()["queued"] == 2
    again = http.post(f"{API}/notifications", headers=coordinator, json=body)
    assert again.json()["queued"] == 0  # the same send, once

    def final(person_id: str) -> dict[str, Any] | None:
        reply = http.get(f"{API}/notifications", headers=as_role["auditor"], params={"recipient_id": person_id})
        found = [n for n in reply.json()["notifications"] if n["message_key"] in sent.json()["message_keys"]]
        # WhatsApp's delivery report comes back through the gateway's webhook: "sent" is not final
        return found[0] if found and found[0]["status"] not in ("queued", "sent") else None

    delivered = eventually(lambda: final(willing["id"]), timeout=30)
    assert delivered is not None and delivered["status"] == "delivered"
    assert [(a["channel"], a["outcome"]) for a in delivered["attempts"]] == [
        ("whatsapp", "sent"),
        ("whatsapp", "delivered"),
    ]
    assert delivered["attempts"][0]["provider_message_id"] == delivered["attempts"][1]["provider_message_id"]
    skipped = eventually(lambda: final(unwilling["id"]), timeout=30)
    assert skipped is not None and skipped["status"] == "skipped"
    not_arrived = http.get(f"{API}/notifications", headers=coordinator, params={"status": "skipped", "limit": 500})
    assert skipped["message_key"] in {n["message_key"] for n in not_arrived.json()["notifications"]}
    assert http.get(f"{API}/notifications", headers=coordinator, params={"status": "sent"}).status_code == 400

    # The sender finds their send by the key they chose; anyone else by its full trigger.
    assert sent.json()["trigger"] == f"envio:{_user(http, coordinator)}:{key}"
    by_key = http.get(f"{API}/notifications", headers=coordinator, params={"trigger": key})
    assert {n["recipient_id"] for n in by_key.json()["notifications"]} == {willing["id"], unwilling["id"]}
    by_trigger = http.get(
        f"{API}/notifications", headers=as_role["auditor"], params={"trigger": sent.json()["trigger"]}
    )
    assert {n["recipient_id"] for n in by_trigger.json()["notifications"]} == {willing["id"], unwilling["id"]}

    # Keys are per sender: a gestor's different reminder under the same key is queued,
    # while the coordinator reusing it for other content is a 409 that names the key.
    other = {**body, "variables": {**body["variables"], "hora": "3:00 p. m."}}
    theirs = http.post(f"{API}/notifications", headers=gestor, json=other)
    assert theirs.status_code == 202 and theirs.json()["queued"] == 2, theirs.text
    clash = http.post(f"{API}/notifications", headers=coordinator, json=other)
    assert clash.status_code == 409 and key in clash.json()["error"], clash.text

    assert http.post(f"{API}/notifications", headers=as_role["auditor"], json=body).status_code == 403
    both = {**body, "community_id": community["id"]}
    assert http.post(f"{API}/notifications", headers=coordinator, json=both).status_code == 400
    unknown = http.post(f"{API}/notifications", headers=coordinator, json={**body, "template": "no_existe"})
    assert unknown.status_code == 400 and "no_existe" in unknown.json()["fields"]["template"]
    incomplete = {**body, "key": f"{key}-b", "variables": {"fecha": "28 de noviembre"}}
    refused = http.post(f"{API}/notifications", headers=coordinator, json=incomplete)
    assert refused.status_code == 400 and refused.json()["fields"]["variables"].endswith("hora, lugar, tema")


def _user(http: httpx.Client, headers: dict[str, str]) -> str:
    """The username behind a token (the e2e fixtures create them with random suffixes)."""
    payload = headers["Authorization"].split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


def test_a_person_who_prefers_sms_gets_the_reminder_by_sms_only(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor, coordinator = as_role["gestor"], as_role["coordinator"]
    data = new_person(community["id"], whatsapp_phone="3105550177", contact_channels=["SMS"])
    registered = http.post(f"{API}/beneficiaries", headers=gestor, json=data)
    assert registered.status_code == 201, registered.text
    person = registered.json()
    assert person["contact_channels"] == ["sms"]
    consent = http.post(f"{API}/beneficiaries/{person['id']}/consents", headers=gestor, json={"kind": "notifications"})
    assert consent.status_code == 200, consent.text

    key = f"sms-{uuid.uuid4().hex[:8]}"
    variables = {"fecha": "12 de diciembre", "hora": "8:00 a. m.", "lugar": "Escuela", "tema": "semillas"}
    body = {"recipient_ids": [person["id"]], "template": "recordatorio_reunion", "variables": variables, "key": key}
    sent = http.post(f"{API}/notifications", headers=coordinator, json=body)
    assert sent.status_code == 202, sent.text
    (message_key,) = sent.json()["message_keys"]

    def final() -> dict[str, Any] | None:
        found: dict[str, Any] = http.get(f"{API}/notifications/{message_key}", headers=coordinator).json()
        return found if found["status"] not in ("queued", "sent") else None

    done = eventually(final, timeout=30)
    assert done is not None and done["status"] == "delivered"
    assert [(a["channel"], a["outcome"]) for a in done["attempts"]] == [("sms", "sent"), ("sms", "delivered")]

    contact = f"{API}/beneficiaries/{person['id']}/contact"
    refused = http.patch(contact, headers=gestor, json={"contact_channels": ["fax"]})
    assert refused.status_code == 400 and "contact_channels" in refused.json()["fields"]
    cleared = http.patch(contact, headers=gestor, json={"contact_channels": []})
    assert cleared.status_code == 200 and cleared.json().get("contact_channels", []) == []


def test_the_message_templates_are_listed_with_the_variables_a_send_must_give(
    http: httpx.Client, as_role: dict[str, dict[str, str]]
) -> None:
    reply = http.get(f"{API}/notification-templates", headers=as_role["gestor"])
    assert reply.status_code == 200, reply.text
    templates = {t["name"]: t for t in reply.json()["templates"]}
    reminder = templates["recordatorio_reunion"]
    assert reminder["variables"] == ["nombre", "fecha", "hora", "lugar", "tema"]
    assert reminder["per_recipient"] == ["nombre"] and "{{ tema }}" in reminder["body"]
    # A send that leaves out a listed variable is refused naming it.
    refused = http.post(
        f"{API}/notifications",
        headers=as_role["gestor"],
        json={"key": f"k-{uuid.uuid4().hex[:6]}", "template": "recordatorio_reunion", "recipient_ids": ["x"],
              "variables": {"fecha": "lunes", "hora": "9", "lugar": "salón"}},
    )  # fmt: skip
    assert refused.status_code == 400 and "tema" in refused.text
    assert http.get(f"{API}/notification-templates").status_code == 401


def test_the_messages_since_a_moment_are_counted_by_status(
    http: httpx.Client, as_role: dict[str, dict[str, str]]
) -> None:
    reply = http.get(
        f"{API}/notification-counts", headers=as_role["auditor"], params={"created_from": "2020-01-01T00:00:00Z"}
    )
    assert reply.status_code == 200, reply.text
    counts = reply.json()["by_status"]
    assert set(counts) == {"queued", "sent", "delivered", "failed", "skipped"}
    future = http.get(f"{API}/notification-counts", headers=as_role["auditor"], params={"created_from": "2999-01-01"})
    assert future.status_code == 200 and sum(future.json()["by_status"].values()) == 0
    bad = http.get(f"{API}/notification-counts", headers=as_role["auditor"], params={"created_from": "ayer"})
    assert bad.status_code == 400 and "created_from" in bad.text
