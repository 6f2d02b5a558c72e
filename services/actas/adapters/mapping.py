"""Records of the actas service as MongoDB documents and back.

The repository writes raw dicts on its hot paths (inside transactions); these
functions are the one place that knows their shape (``services.actas.adapters.
documents`` declares it, with its indexes): ``*_doc`` builds the document of a
domain object, ``*_from_doc`` reads one back. Each acta and rejection carries its
outbox of events (``outbox_entries``), written in the same document.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bson.binary import Binary

from services.actas.domain import chain
from services.actas.domain.model import (
    Acta,
    Event,
    FingerprintEvidence,
    GeoPoint,
    Method,
    Participant,
    Role,
    Signature,
    Source,
    Status,
)
from services.actas.domain.pairing import IssuedCode
from services.actas.domain.submission import Device
from services.actas.service_layer.ports import RegisteredDevice, Rejection, StaffProfile


def outbox_entries(events: Sequence[Event], now: datetime) -> list[dict[str, Any]]:
    return [{"id": e.id, "type": e.type, "payload": e.payload, "created_at": now} for e in events]


def acta_doc(acta: Acta, events: Sequence[Event], images: dict[str, bytes]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": acta.id,
        "template_key": acta.template_key,
        "template_code": acta.template_code,
        "title": acta.title,
        "status": str(acta.status),
        "values": acta.values,
        "participants": [p.__dict__ for p in acta.participants],
        "participant_ids": [p.beneficiary_id for p in acta.participants],
        "family_ids": sorted({p.family_id for p in acta.participants if p.family_id}),
        "signatures": [signature_doc(s) for s in acta.signatures],
        "gestor_id": acta.gestor_id,
        "community_id": acta.community_id,
        "captured_at": acta.captured_at,
        "created_at": acta.created_at,
        "sealed_at": acta.sealed_at,
        "content_hash": acta.content_hash,
        "chain_seq": acta.chain_seq,
        "source": str(acta.source),
        "device_id": acta.device_id,
        "amends": acta.amends,
        "amendment_reason": acta.amendment_reason,
        "location": acta.location.__dict__ if acta.location else None,
        "names": acta.names,
        "gestor_name": acta.gestor_name,
        "gestor_document": acta.gestor_document,
        "gestor_title": acta.gestor_title,
        "images": {k: Binary(v) for k, v in images.items()},
        "version": acta.version,
        "outbox": outbox_entries(events, acta.created_at),
    }
    if acta.submission_id:  # absent for desk actas, so the partial unique index skips them
        doc["submission_id"] = acta.submission_id
    if acta.folio:  # absent until sealed, likewise
        doc["folio"] = acta.folio
    return doc


def signature_doc(signature: Signature) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "signer_id": signature.signer_id,
        "role": str(signature.role),
        "method": str(signature.method),
        "signed_at": signature.signed_at,
        "handwritten_sha256": signature.handwritten_sha256,
        "refusal_reason": signature.refusal_reason,
    }
    if signature.fingerprint is not None:
        doc["fingerprint"] = signature.fingerprint.__dict__
    return doc


def acta_from_doc(raw: dict[str, Any]) -> Acta:
    location = raw.get("location")
    return Acta(
        id=raw["_id"],
        template_key=raw["template_key"],
        title=raw["title"],
        values=raw.get("values") or {},
        participants=[Participant(**p) for p in raw.get("participants") or []],
        gestor_id=raw["gestor_id"],
        community_id=raw.get("community_id") or "",
        captured_at=raw["captured_at"],
        created_at=raw["created_at"],
        status=Status(raw["status"]),
        signatures=[signature_from_doc(s) for s in raw.get("signatures") or []],
        source=Source(raw["source"]),
        device_id=raw.get("device_id") or "",
        submission_id=raw.get("submission_id") or "",
        amends=raw.get("amends") or "",
        amendment_reason=raw.get("amendment_reason") or "",
        location=GeoPoint(**location) if location else None,
        names=dict(raw.get("names") or {}),
        gestor_name=raw.get("gestor_name") or "",
        gestor_document=raw.get("gestor_document") or "",
        gestor_title=raw.get("gestor_title") or "",
        folio=raw.get("folio") or "",
        sealed_at=raw.get("sealed_at"),
        content_hash=raw.get("content_hash") or "",
        chain_seq=raw.get("chain_seq") or 0,
        version=raw["version"],
    )


def signature_from_doc(raw: dict[str, Any]) -> Signature:
    fingerprint = raw.get("fingerprint")
    return Signature(
        signer_id=raw["signer_id"],
        role=Role(raw["role"]),
        method=Method(raw["method"]),
        signed_at=raw["signed_at"],
        fingerprint=FingerprintEvidence(**fingerprint) if fingerprint else None,
        handwritten_sha256=raw.get("handwritten_sha256") or "",
        refusal_reason=raw.get("refusal_reason") or "",
    )


def chain_entry_from_doc(raw: dict[str, Any]) -> chain.ChainEntry:
    return chain.ChainEntry(raw["_id"], raw["acta_id"], raw["acta_hash"], raw["prev_hash"], raw["entry_hash"])


def device_doc(device: RegisteredDevice) -> dict[str, Any]:
    return {
        "_id": device.device.device_id,
        "public_key": device.device.public_key_b64,
        "community_id": device.community_id,
        "description": device.description,
        "revoked": False,
        "registered_by": device.registered_by,
        "registered_at": device.registered_at,
    }


def pairing_code_doc(code: IssuedCode) -> dict[str, Any]:
    return {
        "_id": code.code_sha256,
        "community_id": code.community_id,
        "description": code.description,
        "issued_by": code.issued_by,
        "issued_at": code.issued_at,
        "expires_at": code.expires_at,
        "used_at": None,
        "used_by_device": "",
        "used_with_key": "",
    }


def pairing_code_from_doc(raw: dict[str, Any]) -> IssuedCode:
    return IssuedCode(
        code_sha256=raw["_id"],
        community_id=raw["community_id"],
        description=raw.get("description") or "",
        issued_by=raw["issued_by"],
        issued_at=raw["issued_at"],
        expires_at=raw["expires_at"],
        used_at=raw.get("used_at"),
        used_by_device=raw.get("used_by_device") or "",
        used_with_key=raw.get("used_with_key") or "",
    )


def rejection_doc(rejection: Rejection, events: Sequence[Event]) -> dict[str, Any]:
    return {
        "_id": rejection.id,
        "reason": rejection.reason,
        "detail": rejection.detail,
        "device_id": rejection.device_id,
        "submission_id": rejection.submission_id,
        "received_at": rejection.received_at,
        "field_errors": rejection.field_errors,
        "resolved": False,
        "outbox": outbox_entries(events, rejection.received_at),
    }


def device_from_doc(raw: dict[str, Any]) -> RegisteredDevice:
    return RegisteredDevice(
        Device(raw["_id"], raw["public_key"], bool(raw.get("revoked"))),
        raw.get("community_id") or "",
        raw.get("description") or "",
        raw["registered_by"],
        raw["registered_at"],
        raw.get("revoked_at"),
        raw.get("last_submission_at"),
        int(raw.get("submissions") or 0),
    )


def staff_doc(profile: StaffProfile) -> dict[str, Any]:
    return {
        "_id": profile.username,
        "full_name": profile.full_name,
        "document": profile.document,
        "title": profile.title,
    }


def staff_from_doc(raw: dict[str, Any]) -> StaffProfile:
    return StaffProfile(raw["_id"], raw["full_name"], raw.get("document") or "", raw.get("title") or "")


def rejection_from_doc(raw: dict[str, Any]) -> Rejection:
    return Rejection(
        id=raw["_id"],
        reason=raw["reason"],
        detail=raw.get("detail") or "",
        device_id=raw.get("device_id") or "",
        submission_id=raw.get("submission_id") or "",
        received_at=raw["received_at"],
        field_errors=raw.get("field_errors") or {},
        resolved=bool(raw.get("resolved")),
        resolved_by=raw.get("resolved_by") or "",
        resolution_note=raw.get("resolution_note") or "",
    )
