"""The page cursor of the UP list: the last row's registration time and id, as
opaque text (``<ISO time>|<id>``, URL-safe base64) the caller hands back for the
next page. The order (``created_at`` then ``_id``, newest first) never changes
for a stored UP, so pages are stable: a UP registered meanwhile appears on the
first page, not twice."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from crm_platform import errors as vocabulary
from services.income.service_layer.ports import UnitCursor, UnitDoc

MAX_LIMIT = 500
EARLIEST = datetime(1900, 1, 2, tzinfo=UTC)  # a cursor outside these is no page the list gave
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class BadPageToken(vocabulary.InvalidArgument):
    def __init__(self) -> None:
        super().__init__({"page_token": "Página inválida: vuelva a la primera página de la lista"})


def token(doc: UnitDoc) -> str:
    text = f"{doc['created_at'].isoformat()}|{doc['_id']}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def cursor(text: str) -> UnitCursor | None:
    if not text:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        at, unit_id = raw.split("|", 1)
        moment = datetime.fromisoformat(at)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadPageToken() from None
    if moment.tzinfo is None or not unit_id or not EARLIEST < moment < LATEST:
        raise BadPageToken()
    return UnitCursor(moment, unit_id)


def limit(requested: int, default: int = 100) -> int:
    return max(1, min(requested or default, MAX_LIMIT))
