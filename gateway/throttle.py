"""Login throttling shared by every gateway replica (MongoDB): exponential backoff
per account and per client address, temporary locks, and the audit trail.

After ``free_failures`` failed attempts within ``window_seconds`` the key (an
account or a client address) is locked for ``base_seconds``; every further
failure doubles the lock, up to ``max_seconds``. A locked key is refused with 429
and ``Retry-After`` before the password is hashed, so refused attempts cost no
scrypt. A successful login clears its account's failures (not its client's).
Every attempt, lock and account change is written to ``login_audit``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.collection import Collection

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_DOUBLINGS = 32  # 2**32 times any base is past every cap; keeps the float finite


@dataclass(frozen=True)
class Backoff:
    free_failures: int
    base_seconds: float
    max_seconds: float
    window_seconds: float

    def lock_seconds(self, failures: int) -> float:
        """How long the key is locked after its ``failures``-th failure in a row."""
        if failures < self.free_failures or self.free_failures <= 0:
            return 0.0
        doublings = min(failures - self.free_failures, _MAX_DOUBLINGS)
        return float(min(self.max_seconds, self.base_seconds * 2**doublings))


def retry_after(locked_until: datetime, now: datetime) -> int:
    """Whole seconds to announce in ``Retry-After`` (at least 1 while locked)."""
    return max(1, math.ceil((locked_until - now).total_seconds()))


class Throttled(Exception):
    """A login refused before any password check: answered 429 with Retry-After."""

    def __init__(self, seconds: int, message: str = "") -> None:
        self.seconds = seconds
        self.message = (
            message or f"Demasiados intentos fallidos de inicio de sesión; espere {seconds} segundos e intente de nuevo"
        )
        super().__init__(self.message)


class LoginThrottle:
    def __init__(
        self,
        state: Collection,
        audit: Collection,
        account: Backoff,
        client: Backoff,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._state = state
        self._audit = audit
        self._policies = {"account": account, "client": client}
        self._now = clock

    def ensure_indexes(self) -> None:
        self._state.create_index("expires_at", expireAfterSeconds=0)
        self._audit.create_index([("who", 1), ("when", -1)])
        self._audit.create_index([("ip", 1), ("when", -1)])

    @staticmethod
    def _keys(username: str, ip: str) -> dict[str, str]:
        return {"account": f"account:{username}", "client": f"client:{ip}"}

    def check(self, username: str, ip: str) -> None:
        """Raise ``Throttled`` while the account or the client is locked."""
        now = self._now()
        keys = self._keys(username, ip)
        locked = [
            doc["locked_until"]
            for doc in self._state.find({"_id": {"$in": list(keys.values())}, "locked_until": {"$gt": now}})
        ]
        if locked:
            seconds = retry_after(max(locked), now)
            self.audit(username, ip, "throttled", retry_after=seconds)
            raise Throttled(seconds)

    def failure(self, username: str, ip: str) -> None:
        """Count a failed attempt against the account and the client; lock either
        one that has now failed too often."""
        now = self._now()
        locks: dict[str, datetime] = {}
        for scope, key in self._keys(username, ip).items():
            policy = self._policies[scope]
            cutoff = now - timedelta(seconds=policy.window_seconds)
            # One atomic update: failures older than the window are forgotten.
            doc = self._state.find_one_and_update(
                {"_id": key},
                [
                    {
                        "$set": {
                            "failures": {
                                "$cond": [
                                    {"$gte": [{"$ifNull": ["$last_failure", _EPOCH]}, cutoff]},
                                    {"$add": [{"$ifNull": ["$failures", 0]}, 1]},
                                    1,
                                ]
                            },
                            "last_failure": now,
                            "expires_at": now + timedelta(seconds=policy.window_seconds + policy.max_seconds),
                        }
                    }
                ],
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
            seconds = policy.lock_seconds(int(doc["failures"]) if doc else 1)
            if seconds > 0:
                until = now + timedelta(seconds=seconds)
                self._state.update_one({"_id": key}, {"$max": {"locked_until": until}})
                locks[scope] = until
        if locks:
            until = max(locks.values())
            self.audit(
                username, ip, "locked", scopes=sorted(locks), locked_until=until, retry_after=retry_after(until, now)
            )
        else:
            self.audit(username, ip, "failure")

    def success(self, username: str, ip: str) -> None:
        self._state.delete_one({"_id": self._keys(username, ip)["account"]})
        self.audit(username, ip, "success")

    def audit(self, who: str, ip: str, outcome: str, **details: Any) -> None:
        self._audit.insert_one({"who": who, "ip": ip, "when": self._now(), "outcome": outcome, **details})
