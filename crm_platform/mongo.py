"""What "acknowledged" means for every MongoDB write of the project.

A write is acknowledged only once a majority of the replica set has it *in its
journal on disk* (``w: majority``, ``j: true``): a crash of the store (or of the
whole primary) right after the acknowledgement loses nothing. The services pass
these options to their clients themselves, so a connection string without them
(or with weaker ones) cannot weaken them: keyword options override the URI's.

Locally, SecantusDB runs with ``--sync-on-commit`` (devstack): it does not
apply ``j`` per write, so every commit fsyncs its log instead, which is the same
guarantee for a single node.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

DURABLE_WRITES: Final[dict[str, Any]] = {"w": "majority", "journal": True}


def connect(alias: str, mongo_uri: str, db_name: str, documents: Iterable[Any] = ()) -> None:
    """Open a service's connection under ``alias`` (from a process's start-up, never
    at import: PyMongo is not fork-safe), with durable writes, and make sure the
    indexes of its mongoengine ``documents`` exist."""
    import mongoengine

    mongoengine.disconnect(alias=alias)
    mongoengine.connect(
        db=db_name, host=mongo_uri, alias=alias, tz_aware=True, uuidRepresentation="standard", **DURABLE_WRITES
    )
    for doc in documents:
        doc.ensure_indexes()


def disconnect(alias: str) -> None:
    import mongoengine

    mongoengine.disconnect(alias=alias)
