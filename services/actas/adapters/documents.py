"""mongoengine documents: the stored shape of the actas service's records and their
indexes. The repository writes raw dicts of this shape on its hot paths (inside
transactions) and maps them to domain objects; documents never leave the adapters.
"""

from __future__ import annotations

from typing import Any

from mongoengine import (
    BinaryField,
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    IntField,
    ListField,
    StringField,
)

DB_ALIAS = "actas"


class ActaDoc(Document):
    meta: dict[str, Any] = {
        "collection": "actas",
        "db_alias": DB_ALIAS,
        "indexes": [
            # Kiosk idempotency: one acta per submission id (desk actas have none).
            {
                "fields": ["submission_id"],
                "unique": True,
                "partialFilterExpression": {"submission_id": {"$exists": True}},
            },
            # One acta per folio (absent until sealed, so drafts are skipped).
            {"fields": ["folio"], "unique": True, "partialFilterExpression": {"folio": {"$exists": True}}},
            "participant_ids",
            "family_ids",
            ("gestor_id", "-captured_at"),
            ("template_code", "-captured_at"),
            # The web app's list by state, and by state and type (see
            # MongoRepository.query: a range on captured_at after the equalities).
            ("status", "-captured_at"),
            ("status", "template_code", "-captured_at"),
            "-captured_at",
            "amends",
            "status",
            "outbox.created_at",
        ],
    }
    id = StringField(primary_key=True)
    template_key = StringField(required=True)
    template_code = StringField(required=True)
    title = StringField(required=True)
    status = StringField(required=True)
    values = DictField()
    participants = ListField(DictField())
    participant_ids = ListField(StringField())
    family_ids = ListField(StringField())
    signatures = ListField(DictField())
    gestor_id = StringField(required=True)
    community_id = StringField()
    captured_at = DateTimeField(required=True)
    created_at = DateTimeField(required=True)
    sealed_at = DateTimeField()
    content_hash = StringField()
    chain_seq = IntField()
    source = StringField(required=True)
    device_id = StringField()
    submission_id = StringField()
    body_sha256 = StringField()
    amends = StringField()
    amendment_reason = StringField()
    location = DictField()
    names = DictField()
    gestor_name = StringField()
    gestor_document = StringField()
    gestor_title = StringField()
    folio = StringField()
    # SHA-256 -> PNG bytes of handwritten signatures
    images = DictField()
    version = IntField(required=True)
    outbox = ListField(DictField())


class ChainEntryDoc(Document):
    """Entry ``seq`` of the hash chain; ``_id`` is the sequence number."""

    meta: dict[str, Any] = {
        "collection": "chain",
        "db_alias": DB_ALIAS,
        "indexes": [{"fields": ["acta_id"], "unique": True}],
    }
    id = IntField(primary_key=True)
    acta_id = StringField(required=True)
    acta_hash = StringField(required=True)
    prev_hash = StringField(required=True)
    entry_hash = StringField(required=True)
    appended_at = DateTimeField(required=True)


class ChainHeadDoc(Document):
    """The last entry of the chain: one document, the point where appends serialise."""

    meta: dict[str, Any] = {"collection": "chain_head", "db_alias": DB_ALIAS}
    id = StringField(primary_key=True)
    seq = IntField(required=True)
    entry_hash = StringField(required=True)


class FolioCounterDoc(Document):
    """The last folio number drawn for one template prefix and year (``_id`` "VD-2026")."""

    meta: dict[str, Any] = {"collection": "folio_counters", "db_alias": DB_ALIAS}
    id = StringField(primary_key=True)
    last = IntField(required=True)


class StaffProfileDoc(Document):
    """A staff account's profile (``_id`` the user name), as the gateway sent it."""

    meta: dict[str, Any] = {"collection": "staff_profiles", "db_alias": DB_ALIAS}
    id = StringField(primary_key=True)
    full_name = StringField(required=True)
    document = StringField()
    title = StringField()


class DeviceDoc(Document):
    meta: dict[str, Any] = {"collection": "devices", "db_alias": DB_ALIAS}
    id = StringField(primary_key=True)
    public_key = StringField(required=True)
    community_id = StringField()
    description = StringField()
    revoked = BooleanField(default=False)
    registered_by = StringField(required=True)
    registered_at = DateTimeField(required=True)
    revoked_at = DateTimeField()


class PairingCodeDoc(Document):
    """A one-time pairing code, by its SHA-256 (the code itself is never stored)."""

    meta: dict[str, Any] = {"collection": "pairing_codes", "db_alias": DB_ALIAS}
    id = StringField(primary_key=True)
    community_id = StringField(required=True)
    description = StringField()
    issued_by = StringField(required=True)
    issued_at = DateTimeField(required=True)
    expires_at = DateTimeField(required=True)
    used_at = DateTimeField()
    used_by_device = StringField()
    used_with_key = StringField()


class RejectionDoc(Document):
    meta: dict[str, Any] = {
        "collection": "rejections",
        "db_alias": DB_ALIAS,
        "indexes": [("resolved", "-received_at"), "outbox.created_at"],
    }
    id = StringField(primary_key=True)
    reason = StringField(required=True)
    detail = StringField()
    device_id = StringField()
    submission_id = StringField()
    received_at = DateTimeField(required=True)
    field_errors = DictField()
    resolved = BooleanField(default=False)
    resolved_by = StringField()
    resolution_note = StringField()
    raw = BinaryField()
    outbox = ListField(DictField())


ALL_DOCUMENTS = (
    ActaDoc,
    ChainEntryDoc,
    ChainHeadDoc,
    FolioCounterDoc,
    StaffProfileDoc,
    DeviceDoc,
    PairingCodeDoc,
    RejectionDoc,
)
