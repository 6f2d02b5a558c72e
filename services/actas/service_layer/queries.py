"""Reads: templates, actas by id and by filter, counts, and tamper evidence
(``verify_chain``, ``verify_acta``)."""

from __future__ import annotations

from dataclasses import replace

from services.actas.domain import chain
from services.actas.domain.errors import FieldsInvalid
from services.actas.domain.model import Acta, InvalidState, Status
from services.actas.domain.templates import Template
from services.actas.service_layer.base import COUNT_STATUSES, GROUPINGS, HandlersBase, VerifyReport, bounded
from services.actas.service_layer.ports import ActaFilter, ActaRepository, CountFilter


class ActaQueries(HandlersBase):
    def list_templates(self) -> list[Template]:
        return sorted(self.templates.values(), key=lambda t: t.key)

    def images(self, acta_id: str) -> dict[str, bytes]:
        return self.repo.images(acta_id)

    def amended_by(self, acta_id: str) -> list[str]:
        return self.repo.amended_by(acta_id)

    def query(self, query: ActaFilter) -> list[Acta]:
        if query.captured_from and query.captured_to and query.captured_from > query.captured_to:
            raise FieldsInvalid({"captured_from": "La fecha inicial es posterior a la final"})
        return self.repo.query(ActaFilter(**{**query.__dict__, "limit": bounded(query.limit)}))

    def count(self, what: CountFilter) -> dict[str, int]:
        """Counts of actas; sealed originals unless ``what`` asks for other statuses
        (``todos`` counts every status) or for corrections too."""
        errors: dict[str, str] = {}
        if what.group_by not in GROUPINGS:
            errors["group_by"] = f"Use uno de: {', '.join(GROUPINGS)}"
        if what.status not in COUNT_STATUSES:
            errors["status"] = f"Use uno de: {', '.join(COUNT_STATUSES)}"
        if what.captured_from and what.captured_to and what.captured_from > what.captured_to:
            errors["captured_from"] = "La fecha inicial es posterior a la final"
        if errors:
            raise FieldsInvalid(errors)
        return self.repo.count(replace(what, status="" if what.status == "todos" else what.status))

    def corrections(self, acta: Acta) -> tuple[Acta | None, list[Acta]]:
        """The sealed acta ``acta`` corrects (None if it is no correction) and its own
        sealed corrections, oldest first: a reader of either learns of the other."""
        corrects = self.repo.get(acta.amends) if acta.amends else None
        found = (self.repo.get(i) for i in self.repo.amended_by(acta.id))
        return corrects, [c for c in found if c is not None and c.status == Status.SEALED]

    # -- tamper evidence -----------------------------------------------------------
    def verify_chain(self) -> VerifyReport:
        return verify_chain(self.repo)

    def verify_acta(self, acta_id: str) -> tuple[Acta, list[chain.ChainProblem]]:
        """One acta: its stored content still hashes to what was sealed and chained."""
        acta = self.get(acta_id)
        if acta.status != Status.SEALED:
            raise InvalidState(f"El acta {acta_id} no está sellada")
        problems: list[chain.ChainProblem] = []
        recomputed = acta.compute_hash()
        entry = self.repo.chain_entry(acta_id)
        if recomputed != acta.content_hash:
            problems.append(
                chain.ChainProblem("altered_acta", acta.chain_seq, acta_id, "el contenido no coincide con su hash")
            )
        if entry is None:
            problems.append(chain.ChainProblem("unchained_acta", 0, acta_id, "el acta no está en la cadena"))
        else:
            if entry.acta_hash != recomputed:
                problems.append(
                    chain.ChainProblem("altered_acta", entry.seq, acta_id, "el acta no coincide con la encadenada")
                )
            if entry.entry_hash != chain.entry_hash(entry.seq, entry.acta_id, entry.acta_hash, entry.prev_hash):
                problems.append(chain.ChainProblem("altered_entry", entry.seq, acta_id, "entrada de cadena alterada"))
        return acta, problems


def verify_chain(repo: ActaRepository) -> VerifyReport:
    """Recompute every entry and every sealed acta's hash; name each problem.
    Needs nothing but the records, so an auditor can run it straight on the database."""
    entries = list(repo.chain_in_order())
    hashes = {a.id: a.compute_hash() for a in repo.sealed_actas()}
    problems = chain.verify(entries, hashes)
    chained = {e.acta_id for e in entries}
    for acta_id in sorted(set(hashes) - chained):
        problems.append(chain.ChainProblem("unchained_acta", 0, acta_id, "acta sellada que no está en la cadena"))
    return VerifyReport(len(entries), entries[-1].entry_hash if entries else chain.GENESIS, problems)
