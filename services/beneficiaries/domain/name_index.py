"""The name-search index as a projection of this service's events.

A person becomes findable by name in two scopes: everyone (``*``) and their
community. Registration and a move to another community's household add entries;
the store keeps them as paged postings (see ``adapters/documents.py``). Built
from events, it keeps registration to one write; searches re-check every
candidate against the stored record, so a redelivered event (duplicate entry) or
a move (entry left in the old community) never shows a wrong result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.beneficiaries.domain.normalise import search_tokens

ALL_SCOPE = "*"


@dataclass(frozen=True)
class NameIndexEntry:
    beneficiary_id: str
    words: list[str]
    scopes: list[str]


def entries_for_event(event_type: str, payload: dict[str, Any]) -> list[NameIndexEntry]:
    if event_type == "beneficiary_registered":
        scopes = [ALL_SCOPE, payload["community_id"]]
    elif (
        event_type == "beneficiary_updated"
        and payload.get("change") == "family"
        and payload.get("previous_community_id") != payload["community_id"]
    ):
        scopes = [payload["community_id"]]
    else:
        return []
    words = search_tokens(payload["first_names"], payload["last_names"])
    return [NameIndexEntry(payload["beneficiary_id"], words, scopes)]
