"""Kiosk session statements already used, shared by every gateway replica (MongoDB).

A statement (device id + issue time, signed with the device key) opens a session
only once: a copy captured on the wire and replayed within the clock-skew window is
refused. Each accepted statement is recorded under a unique key (device id, issue
time and a hash of the signature) and kept past the end of its acceptance window,
after which a TTL index drops it; by then the clock check refuses the copy anyway.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

# Kept a minute beyond the acceptance window, so the record outlives any copy the
# clock check would still accept (the TTL monitor may delete late, never early).
RETENTION_MARGIN = timedelta(minutes=1)


class StatementReplayed(Exception):
    """The statement was used before: a replay, refused with 401."""


class SeenStatements:
    def __init__(self, collection: Collection, skew: timedelta) -> None:
        self._seen = collection
        self._skew = skew

    def ensure_indexes(self) -> None:
        self._seen.create_index("expires_at", expireAfterSeconds=0)
        self._seen.create_index([("device_id", 1), ("issued_at", 1), ("signature_sha256", 1)], unique=True)

    def use(self, device_id: str, issued_at_text: str, issued_at: datetime, signature: bytes) -> None:
        """Record a verified statement; ``StatementReplayed`` if it was recorded before."""
        digest = hashlib.sha256(signature).hexdigest()
        try:
            self._seen.insert_one(
                {
                    "_id": hashlib.sha256(f"{device_id}\n{issued_at_text}\n{digest}".encode()).hexdigest(),
                    "device_id": device_id,
                    "issued_at": issued_at_text,
                    "signature_sha256": digest,
                    "expires_at": issued_at + self._skew + RETENTION_MARGIN,
                }
            )
        except DuplicateKeyError:
            raise StatementReplayed(device_id) from None
