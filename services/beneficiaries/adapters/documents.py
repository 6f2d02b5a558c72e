"""mongoengine documents: the stored shape of the aggregates and their indexes.

They stay inside the adapters; the repository maps them to domain entities.
Each aggregate document carries an ``outbox`` list: the events of its last writes
that the relay has not yet published (written atomically with the aggregate).
"""

from __future__ import annotations

from typing import Any

from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    IntField,
    ListField,
    StringField,
)

DB_ALIAS = "beneficiaries"


class _Aggregate(Document):
    meta: dict[str, Any] = {"abstract": True}
    id = StringField(primary_key=True)
    outbox = ListField(DictField())


class CommunityDoc(_Aggregate):
    meta: dict[str, Any] = {
        "collection": "communities",
        "db_alias": DB_ALIAS,
        "indexes": ["name", "outbox.created_at"],
    }
    name = StringField(required=True)
    municipality = StringField(required=True)
    department = StringField(required=True)
    created_at = DateTimeField(required=True)


class FamilyDoc(_Aggregate):
    meta: dict[str, Any] = {
        "collection": "families",
        "db_alias": DB_ALIAS,
        "indexes": ["community_id", "outbox.created_at"],
    }
    community_id = StringField(required=True)
    name = StringField(required=True)
    address = StringField()
    created_at = DateTimeField(required=True)


class BeneficiaryDoc(_Aggregate):
    meta: dict[str, Any] = {
        "collection": "beneficiaries",
        "db_alias": DB_ALIAS,
        "indexes": [
            {"fields": ["national_id_key"], "unique": True},
            # Prefix search: one range scan over folded name words.
            "search_tokens",
            "community_id",
            "family_id",
            # A household has at most one head, enforced by the store as well.
            {
                "fields": ["family_id"],
                "name": "one_head_per_family",
                "unique": True,
                "partialFilterExpression": {"relationship": "head"},
            },
            "outbox.created_at",
        ],
    }
    national_id_key = StringField(required=True)
    id_type = StringField(required=True)
    id_number = StringField(required=True)
    first_names = StringField(required=True)
    last_names = StringField(required=True)
    search_tokens = ListField(StringField())
    birth_date = StringField(required=True)
    sex = StringField(required=True)
    community_id = StringField(required=True)
    family_id = StringField()
    relationship = StringField()
    whatsapp_phone = StringField()
    email = StringField()
    contact_channels = ListField(StringField())  # preferred channels, in order; empty: the default
    education_level = StringField()
    can_sign = BooleanField(default=True)
    consents = DictField()
    biometrics = DictField()
    created_at = DateTimeField(required=True)
    updated_at = DateTimeField(required=True)
    version = IntField(required=True)


class TimelineDoc(Document):
    """One entry; its id derives from the source event, so appends are idempotent."""

    meta: dict[str, Any] = {
        "collection": "timeline",
        "db_alias": DB_ALIAS,
        "indexes": [("subject_type", "subject_id", "-occurred_at")],
    }
    id = StringField(primary_key=True)
    subject_type = StringField(required=True)
    subject_id = StringField(required=True)
    occurred_at = DateTimeField(required=True)
    kind = StringField(required=True)
    summary = StringField(required=True)
    source_service = StringField(required=True)
    source_id = StringField(required=True)
    source_event_id = StringField(required=True)


class NameTokenDoc(Document):
    """One folded name word within a scope (``*`` or a community id) and how many
    postings it has: ``_id`` and ``k`` are ``"<scope>|<word>"``.

    Range queries go to ``k``: SecantusDB answers a range on ``_id`` with a full
    collection scan, a range on a secondary index with an index scan."""

    meta: dict[str, Any] = {
        "collection": "name_tokens",
        "db_alias": DB_ALIAS,
        "indexes": [{"fields": ["k"], "unique": True}],
    }
    id = StringField(primary_key=True)
    k = StringField(required=True)
    n = IntField(required=True)


class NamePostingDoc(Document):
    """The ``seq``-th person whose names hold a word: ``_id`` and ``k`` are
    ``"<scope>|<word>|<seq:09d>"``, ``b`` the beneficiary id.

    Dense sequence numbers let a search read postings in pages of a fixed size
    (an ``_id`` range of ``limit`` entries), so its cost does not grow with how
    many people share a common surname. SecantusDB decodes every document an
    index range matches before applying ``limit``; a plain range over
    ``search_tokens`` made a three-letter prefix cost O(matches)."""

    meta: dict[str, Any] = {
        "collection": "name_postings",
        "db_alias": DB_ALIAS,
        "indexes": [{"fields": ["k"], "unique": True}],
    }
    id = StringField(primary_key=True)
    k = StringField(required=True)
    b = StringField(required=True)


ALL_DOCUMENTS: list[type[Document]] = [
    CommunityDoc,
    FamilyDoc,
    BeneficiaryDoc,
    TimelineDoc,
    NameTokenDoc,
    NamePostingDoc,
]
