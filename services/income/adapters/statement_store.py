"""MongoDB collection ``statements`` of the income service: one document per UP
and period (``_id`` = ``<unit_id>/<period>``), written whole with its ``rev``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

LIMIT = 600  # fifty years of months: more than any UP will have


def statement_id(unit_id: str, period: str) -> str:
    return f"{unit_id}/{period}"


class MongoStatementStore:
    def __init__(self, collection: Collection[dict[str, Any]]) -> None:
        self.statements = collection
        self.statements.create_index([("unit_id", ASCENDING), ("start", ASCENDING), ("span", ASCENDING)])

    def get(self, unit_id: str, period: str) -> dict[str, Any] | None:
        return self.statements.find_one({"_id": statement_id(unit_id, period)})

    def insert(self, doc: Mapping[str, Any]) -> bool:
        try:
            self.statements.insert_one(dict(doc))
        except DuplicateKeyError:
            return False
        return True

    def replace(self, doc: Mapping[str, Any], expected_rev: int) -> bool:
        found = self.statements.replace_one({"_id": doc["_id"], "rev": expected_rev}, dict(doc))
        return found.matched_count == 1

    def find(self, unit_id: str) -> list[dict[str, Any]]:
        cursor = self.statements.find({"unit_id": unit_id}).sort([("start", ASCENDING), ("span", ASCENDING)])
        return list(cursor.limit(LIMIT))
