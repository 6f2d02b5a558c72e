"""SecantusDB, the MongoDB wire-protocol server of the local stack, started with
one fix to its retryable-write bookkeeping.

Why: SecantusDB remembers the reply of every retryable write for 30 minutes (so
a driver's automatic retry gets the original reply instead of writing twice),
up to 10,000 records. Its ``_prune_retryable_locked`` runs on every retryable
write and walks *all* records, and once there are more than 10,000 it *sorts*
them all to drop the oldest. Every write therefore costs O(records) under the
registry's global lock: a process that writes steadily slows down with every
write it has made in the last half hour. Profiled on the notifications
benchmark (py-spy on the server, 3,000 emails): 40 % of the server's samples
were in that function, and 10,000 notifications (40,000 writes) did not finish
in 20 minutes. MongoDB keeps these records per session in
``config.transactions`` and has no such cost, so production never sees it.

The fix keeps the same records, the same lifetime and the same cap, but in
insertion order (an ``OrderedDict``): stale and excess records are always the
oldest, so pruning pops from the front and stops at the first record it keeps
-- amortised O(1) per write. The behaviour a driver sees is unchanged.

The patch is tied to the pinned ``secantusdb`` version (pyproject.toml): if the
names it replaces are gone, start-up fails loudly rather than running unpatched.

A second change bounds the transaction lifetime (``bound_transaction_lifetime``).

    python -m devstack.mongo_server --host 127.0.0.1 --port 27017 --storage-path DIR \
        --sync-on-commit [--transaction-lifetime-seconds 5]
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from typing import Any

from secantus import server, transactions
from secantus.cli import main as secantus_main

# Our transactions last milliseconds; a killed writer's must not stall the others
# for mongod's default minute (compose and Kubernetes set the same on mongod).
DEFAULT_TRANSACTION_LIFETIME_SECONDS = 5.0

_REQUIRED = (
    "_RETRYABLE_RECORD_LIFETIME_SECONDS",
    "_RETRYABLE_RECORD_MAX",
    "_is_recordable_reply",
    "_strip_per_attempt_fields",
)
_REPLACED = ("__init__", "record_retryable", "_prune_retryable_locked")


def install() -> None:
    """Replace the registry's record keeping (idempotent)."""
    registry = transactions.TransactionRegistry
    if getattr(registry, "_crm_ordered_records", False):
        return
    missing = [n for n in _REQUIRED if not hasattr(transactions, n)]
    missing += [f"TransactionRegistry.{n}" for n in _REPLACED if not hasattr(registry, n)]
    if missing:
        raise RuntimeError(
            "secantusdb changed: devstack.mongo_server patches "
            f"{', '.join(missing)}, which this version does not have; re-check the patch"
        )
    original_init = registry.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self._retryable = OrderedDict(self._retryable)

    def record_retryable(self: Any, lsid_bytes: bytes, txn_number: int, identity: bytes, reply: dict[str, Any]) -> None:
        if not transactions._is_recordable_reply(reply):
            return
        with self._lock:
            key = (lsid_bytes, txn_number)
            self._retryable.pop(key, None)  # a re-recorded key becomes the newest
            self._retryable[key] = (transactions._strip_per_attempt_fields(reply), self._time(), identity)
            self._prune_retryable_locked()

    def _prune_retryable_locked(self: Any) -> None:
        records: OrderedDict[tuple[bytes, int], tuple[dict[str, Any], float, bytes]] = self._retryable
        cutoff = self._time() - transactions._RETRYABLE_RECORD_LIFETIME_SECONDS
        while records:
            _reply, stored_at, _identity = next(iter(records.values()))
            if stored_at >= cutoff and len(records) <= transactions._RETRYABLE_RECORD_MAX:
                break
            records.popitem(last=False)

    registry.__init__ = __init__
    registry.record_retryable = record_retryable
    registry._prune_retryable_locked = _prune_retryable_locked
    registry._crm_ordered_records = True


def bound_transaction_lifetime(seconds: float) -> None:
    """Start the server with ``seconds`` as its transaction lifetime (mongod's
    ``transactionLifetimeLimitSeconds``, 60 by default): a transaction idle that
    long is aborted. A writer killed mid-transaction leaves one behind, holding
    write locks on what it wrote; every writer of the same documents conflicts and
    retries until it is reaped, so the bound is how long such a crash can stall
    them."""
    original_init = server.SecantusDBServer.__init__
    if getattr(original_init, "_crm_lifetime", None) == seconds:
        return
    unpatched = getattr(original_init, "_crm_original", original_init)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("transaction_lifetime_seconds", seconds)
        unpatched(self, *args, **kwargs)

    __init__._crm_lifetime = seconds  # type: ignore[attr-defined]
    __init__._crm_original = unpatched  # type: ignore[attr-defined]
    server.SecantusDBServer.__init__ = __init__


def main(argv: list[str] | None = None) -> int:
    """SecantusDB's own command line, plus ``--transaction-lifetime-seconds``."""
    args = list(sys.argv[1:] if argv is None else argv)
    lifetime = DEFAULT_TRANSACTION_LIFETIME_SECONDS
    if "--transaction-lifetime-seconds" in args:
        at = args.index("--transaction-lifetime-seconds")
        lifetime = float(args[at + 1])
        del args[at : at + 2]
    install()
    bound_transaction_lifetime(lifetime)
    sys.argv = [sys.argv[0], *args]
    return int(secantus_main() or 0)


if __name__ == "__main__":
    raise SystemExit(main())
