"""Sealing an acta with its folio, inside the repository's seal transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.actas.domain import folio as folios
from services.actas.domain.model import Acta, Event


@dataclass
class Sealing:
    """Sealing ``acta`` at ``now`` with the folio the repository draws from the
    ``counter`` inside the seal's transaction (``services.actas.domain.folio``):
    ``seal(number)`` seals the acta in memory and returns the events to store with
    it (``leading`` first). A retried transaction calls it again with the number
    drawn in the retry; the acta is sealed afresh each time."""

    acta: Acta
    now: datetime
    leading: tuple[Event, ...] = ()

    def __post_init__(self) -> None:
        self.acta.ensure_sealable()
        self._status = self.acta.status

    @property
    def counter(self) -> str:
        return folios.counter_key(self.acta.template_key, self.now)

    def seal(self, number: int) -> list[Event]:
        self.acta.status = self._status
        return [*self.leading, self.acta.seal(self.now, folios.format_folio(self.counter, number))]
