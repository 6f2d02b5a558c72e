"""Publishing signed chain heads (``domain.heads``): periodically from the actas
gRPC process, and on demand (``PublishChainHead``).

A head is published only when the chain moved since the last one, and only if
the chain still extends that last one: the entry at its ``chain_seq`` must still
hash to what was signed. A chain rewritten behind a published head is refused
(and logged), never blessed with a new signature.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crm_platform import errors as vocabulary
from services.actas.domain import heads
from services.actas.domain.errors import ActaError, InvalidState
from services.actas.service_layer.ports import Clock

log = logging.getLogger(__name__)


class HeadStore(Protocol):
    def current(self) -> tuple[int, str] | None: ...
    def entry_hash(self, seq: int) -> str | None: ...
    def latest(self) -> heads.SignedHead | None: ...
    def add(self, head: heads.SignedHead) -> tuple[heads.SignedHead, bool]: ...


class ChainRewritten(InvalidState):
    """The chain no longer contains the last published head."""


class NoHeadYet(ActaError, vocabulary.NotFound):
    """No head has been published yet."""


@dataclass
class HeadPublisher:
    store: HeadStore
    key: Ed25519PrivateKey
    clock: Clock

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.key.public_key()

    def publish(self) -> tuple[heads.SignedHead, bool]:
        """Sign and store the current head: (head, created). When the chain has not
        moved, the last published head and ``False``; idempotent on ``chain_seq``."""
        current = self.store.current()
        latest = self.store.latest()
        if current is None:
            raise InvalidState("La cadena está vacía: aún no hay actas selladas que publicar")
        seq, head_hash = current
        if latest is not None:
            if latest.chain_seq >= seq:
                return latest, False
            kept = self.store.entry_hash(latest.chain_seq)
            if kept != latest.head_hash:
                raise ChainRewritten(
                    f"La cadena ya no contiene la cabeza publicada en la entrada {latest.chain_seq}: "
                    "fue reescrita; no se firma una cabeza nueva"
                )
        return self.store.add(heads.sign(self.key, seq, head_hash, self.clock.now()))

    def publish_if_moved(self) -> None:
        """The periodic step: publishes when the chain moved, logs what it did."""
        current = self.store.current()
        latest = self.store.latest()
        if current is None or (latest is not None and latest.chain_seq >= current[0]):
            return
        try:
            head, created = self.publish()
        except ChainRewritten as exc:
            log.error("chain head not published: %s", exc)
            return
        if created:
            log.info("chain head published: seq %d hash %s", head.chain_seq, head.head_hash)

    def latest(self) -> heads.SignedHead:
        found = self.store.latest()
        if found is None:
            raise NoHeadYet("Aún no se ha publicado ninguna cabeza de cadena firmada")
        return found
