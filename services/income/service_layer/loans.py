"""The microcredit use cases: products, loans of a productive unit to one of its
owners, approval (four eyes), disbursement, repayments, prepayment, reschedule,
write-off and the delinquency clock. The close of business and the portfolio
indicators are in ``loan_close.py``.

Every command reads the loan's one document, applies the domain's ledger
(``domain.loans.ledger.Loan``: it checks everything first and returns the loan
with one more posting, or raises naming the field) and writes the document back
with its events in its outbox, in one write conditional on the revision. A
concurrent write makes the command start over on the fresh document; a repayment
whose idempotency key is already in the ledger returns the loan as it is."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from crm_platform import errors as vocabulary
from crm_platform.clock import Clock
from crm_platform.dates import TIMEZONE
from services.income.domain.loans import arrears as delinquency
from services.income.domain.loans.ledger import Loan
from services.income.domain.loans.ledger_state import LoanStateError
from services.income.domain.loans.product import LoanInvalid, parse_product
from services.income.service_layer.loan_codec import (
    book_json,
    loan_of,
    pauses_doc,
    pauses_of,
    product_doc,
    summary,
)
from services.income.service_layer.ports import Directory, Relay, UnitStore

LOANS = "loans"
ATTEMPTS = 8
REQUESTED = "solicitado"
EMPTY_BOOK = '{"postings":[]}'
PREPAY_MODES = {"reducir_plazo": "shorten", "reducir_cuota": "lower", "shorten": "shorten", "lower": "lower"}
LoanDoc = dict[str, Any]


class LoanNotFound(vocabulary.NotFound):
    def __init__(self, loan_id: str) -> None:
        super().__init__(f"Crédito no encontrado: {loan_id}")


class ProductNotFound(vocabulary.NotFound):
    def __init__(self, code: str) -> None:
        super().__init__(f"Producto de crédito no encontrado: {code}")


class LoanStore(Protocol):
    def insert_product(self, doc: Mapping[str, Any]) -> None: ...
    def product(self, code: str) -> dict[str, Any] | None: ...
    def all_products(self) -> list[dict[str, Any]]: ...
    def get(self, loan_id: str) -> LoanDoc | None: ...
    def insert(self, doc: Mapping[str, Any], events: list[dict[str, Any]]) -> None: ...
    def replace(self, doc: Mapping[str, Any], expected_rev: int, events: list[dict[str, Any]]) -> bool: ...
    def page(self, selector: Mapping[str, Any], after: str, limit: int) -> list[LoanDoc]: ...
    def last_closing(self, since: datetime | None = None) -> str: ...


def event(event_type: str, doc: LoanDoc, at: datetime, /, **payload: Any) -> dict[str, Any]:
    """A loan event with the identity every loan event carries (the contract's ``LoanEvent``)."""
    body = {k: doc[k] for k in ("unit_id", "family_id", "borrower_id", "owner_ids", "community_id")}
    body.update(loan_id=doc["_id"], occurred_at=at.isoformat(), **payload)
    return {"id": uuid.uuid4().hex, "type": event_type, "payload": body, "created_at": at}


def amount_of(text: str, name: str = "amount") -> Decimal:
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise LoanInvalid({name: "Escriba el valor en pesos, por ejemplo 500000"}) from None
    if not value.is_finite() or value <= 0 or value != value.to_integral_value() or value > Decimal(10) ** 12:
        raise LoanInvalid({name: "El valor debe ser un número entero de pesos mayor que cero"})
    return value.quantize(Decimal(1))  # "1e5" is 100000


def date_of(text: str, name: str, today: date) -> date:
    if not text:
        return today
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise LoanInvalid({name: "Escriba la fecha como AAAA-MM-DD"}) from None
    if day > today:
        raise LoanInvalid({name: "La fecha no puede ser futura"})
    return day


@dataclass
class Change:
    """What a command did: the new ledger, its events, fields to set, the posting's extras."""

    loan: Loan
    events: list[dict[str, Any]]
    fields: dict[str, Any]
    meta: dict[str, Any]


class LoanHandlers:
    def __init__(self, store: LoanStore, units: UnitStore, directory: Directory, relay: Relay, clock: Clock) -> None:
        self.store, self.units, self.directory, self.relay, self.clock = store, units, directory, relay, clock

    def today(self) -> date:
        return self.clock.now().astimezone(TIMEZONE).date()

    # -- products -------------------------------------------------------------------------
    def create_product(self, values: Mapping[str, Any], extras: Mapping[str, Any], by: str) -> dict[str, Any]:
        given = {k: v for k, v in values.items() if v not in ("", None, [], ())}
        if not given.get("installment_multiple"):
            given.pop("installment_multiple", None)  # 0: not given (every peso)
        product = parse_product(given)
        problems: dict[str, str] = {}
        reminder = extras.get("reminder_days", 0)
        if not 0 <= reminder <= 60:
            problems["reminder_days"] = "Los días de aviso deben estar entre 0 y 60"
        low, high = Decimal(0), Decimal(0)
        for name in ("min_amount", "max_amount"):
            if extras.get(name):
                value = amount_of(extras[name], name)
                low, high = (value, high) if name == "min_amount" else (low, value)
        if high and low > high:
            problems["max_amount"] = "El monto máximo debe ser mayor o igual que el mínimo"
        if problems:
            raise LoanInvalid(problems)
        doc = {
            "_id": product.code,
            **product_doc(product),
            "reminder_days": reminder,
            "min_amount": str(low) if low else "",
            "max_amount": str(high) if high else "",
            "created_by": by,
            "created_at": self.clock.now(),
        }
        self.store.insert_product(doc)
        return doc

    def product(self, code: str) -> dict[str, Any]:
        doc = self.store.product(code)
        if doc is None:
            raise ProductNotFound(code)
        return doc

    def products(self) -> list[dict[str, Any]]:
        return self.store.all_products()

    # -- loans ----------------------------------------------------------------------------
    def create_loan(
        self, unit_id: str, borrower_id: str, product_code: str, principal: str, purpose: str, adviser: str, by: str
    ) -> LoanDoc:
        problems: dict[str, str] = {}
        unit = self.units.get(unit_id) if unit_id else None
        if unit is None:
            problems["unit_id"] = "La unidad productiva no existe"
        elif borrower_id not in unit["owner_ids"]:
            problems["borrower_id"] = "El deudor debe ser titular de la unidad productiva"
        product = self.store.product(product_code) if product_code else None
        if product is None:
            problems["product_code"] = "El producto de crédito no existe"
        if len(purpose) > 500:
            problems["purpose"] = "El destino del crédito admite hasta 500 caracteres"
        try:
            amount = amount_of(principal, "principal")
            if product and product.get("min_amount") and amount < Decimal(product["min_amount"]):
                problems["principal"] = f"El monto mínimo del producto es {product['min_amount']}"
            if product and product.get("max_amount") and amount > Decimal(product["max_amount"]):
                problems["principal"] = f"El monto máximo del producto es {product['max_amount']}"
        except LoanInvalid as exc:
            problems.update(exc.fields)
        if problems or unit is None or product is None:
            raise LoanInvalid(problems)
        person = self.directory.people([borrower_id]).get(borrower_id)
        now = self.clock.now()
        terms = {k: v for k, v in product.items() if k not in ("_id", "created_by", "created_at")}
        doc: LoanDoc = {
            "_id": uuid.uuid4().hex,
            "product_code": product["_id"],
            "product": terms,
            "unit_id": unit_id,
            "family_id": unit["family_id"],
            "borrower_id": borrower_id,
            "owner_ids": list(unit["owner_ids"]),
            "community_id": unit["community_id"],
            "sector": unit["sector"],
            "owner_sex": getattr(person, "sex", "") if person else "",
            "adviser_id": adviser.strip()[:64] or by,
            "status": REQUESTED,
            "principal": str(amount),
            "purpose": purpose.strip(),
            "created_by": by,
            "created_at": now,
            "approved_by": "",
            "write_off": {},
            "book": EMPTY_BOOK,
            "keys": {},
            "pauses": [],
            "due": [], "amt": [], "left": [], "out": 0, "oldest": 0,
            "bucket": "", "reminded": 0, "cob": 0,
            "rev": 1,
        }  # fmt: skip
        self.store.insert(doc, [])
        return doc

    def loan(self, loan_id: str) -> LoanDoc:
        doc = self.store.get(loan_id)
        if doc is None:
            raise LoanNotFound(loan_id)
        return doc

    def ledger(self, doc: LoanDoc) -> Loan:
        """The loan's ledger, locked through the last close that could have aged it: a
        close run after the loan was registered. A loan registered later (a legacy
        loan loaded from paper, say) may still be disbursed and repaid on earlier
        dates, since no close reported on it; once a close has run, its days are shut."""
        closed = self.store.last_closing(since=doc.get("created_at"))
        return loan_of(doc, date.fromisoformat(closed) if closed else None)

    def loans(self, filters: Mapping[str, str], after: str, limit: int) -> tuple[list[LoanDoc], str]:
        selector: dict[str, Any] = {k: v for k, v in filters.items() if v and k != "bucket"}
        if filters.get("bucket"):
            selector["bucket"] = "" if filters["bucket"] == "al_dia" else filters["bucket"]
        size = max(1, min(limit or 50, 500))
        found = self.store.page(selector, after, size + 1)
        more = len(found) > size
        found = found[:size]
        return found, (found[-1]["_id"] if more else "")

    # -- commands -------------------------------------------------------------------------
    def _command(self, loan_id: str, act: Callable[[LoanDoc, Loan, datetime], Change | None]) -> LoanDoc:
        for _ in range(ATTEMPTS):
            doc = self.loan(loan_id)
            now = self.clock.now()
            change = act(doc, self.ledger(doc), now)
            if change is None:
                return doc
            rev = doc["rev"]
            meta = {str(p["seq"]): p for p in _meta(doc)}
            if change.meta:
                meta[str(len(change.loan.postings))] = change.meta
            state = change.loan.state
            updated = {**doc, **change.fields, **summary(state), "rev": rev + 1}
            status = REQUESTED if doc["status"] == REQUESTED else str(state.status)
            updated["status"] = change.fields.get("status", status)
            if updated["status"] not in ("activo", REQUESTED, "aprobado"):
                updated["bucket"] = ""  # paid off or written off: out of the portfolio and its buckets
            updated["book"] = book_json(change.loan, meta)
            if self.store.replace(updated, rev, change.events):
                if change.events:
                    self.relay.flush(LOANS, loan_id)
                return updated
        raise vocabulary.Aborted("El crédito cambió muchas veces seguidas; intente de nuevo")

    def _expect(self, doc: LoanDoc, expected: int) -> None:
        if expected and expected != doc["rev"]:
            raise vocabulary.Aborted(
                f"El crédito cambió (usted vio la revisión {expected}, la actual es {doc['rev']}): vuelva a cargarlo",
                fields={"expected_revision": f"actual: {doc['rev']}"},
            )

    def approve(self, loan_id: str, expected: int, by: str) -> LoanDoc:
        def act(doc: LoanDoc, loan: Loan, now: datetime) -> Change:
            self._expect(doc, expected)
            if doc["status"] != REQUESTED:
                raise LoanStateError("El crédito ya fue aprobado", fields={"loan_id": doc["status"]})
            if doc["created_by"] == by:
                raise LoanStateError("Quien aprueba debe ser otra persona que quien registró el crédito")
            return Change(loan, [], {"status": "aprobado", "approved_by": by, "approved_at": now.isoformat()}, {})

        return self._command(loan_id, act)

    def disburse(self, loan_id: str, amount: str, on: str, first_due_on: str, expected: int, by: str) -> LoanDoc:
        def act(doc: LoanDoc, loan: Loan, now: datetime) -> Change:
            self._expect(doc, expected)
            if doc["status"] == REQUESTED:
                raise LoanStateError("El crédito aún no está aprobado", fields={"loan_id": "sin aprobar"})
            day = date_of(on, "on", self.today())
            value = amount_of(amount) if amount else loan.approved_principal - loan.state.disbursed
            first = date.fromisoformat(first_due_on) if _is_date(first_due_on, "first_due_on") else None
            new = loan.disburse(value, day, first_due_on=first, by=by)
            payload = {"amount": str(value), "disbursed_on": day.isoformat(), "principal": doc["principal"], "by": by}
            return Change(new, [event("loan_disbursed", doc, now, **payload)], {}, _posted(now))

        return self._command(loan_id, act)

    def repay(self, loan_id: str, amount: str, on: str, key: str, by: str, prepay_mode: str = "") -> LoanDoc:
        value = amount_of(amount)
        if len(key) > 100:
            raise LoanInvalid({"idempotency_key": "La clave admite hasta 100 caracteres"})
        if prepay_mode and prepay_mode not in PREPAY_MODES:
            raise LoanInvalid({"mode": "El prepago reduce el plazo (reducir_plazo) o la cuota (reducir_cuota)"})

        def act(doc: LoanDoc, loan: Loan, now: datetime) -> Change | None:
            if key and key in doc.get("keys", {}):
                if doc["keys"][key] != str(value):
                    raise LoanInvalid({"idempotency_key": "La clave ya se usó para un pago de otro valor"})
                return None  # already posted: a retry
            day = date_of(on, "on", self.today())
            if prepay_mode:
                new = loan.prepay(value, day, mode=PREPAY_MODES[prepay_mode], by=by)
            else:
                new = loan.repay(value, day, by=by)
            posting = new.postings[-1]
            payload = {
                "posting_id": f"{doc['_id']}-{posting.seq}",
                "kind": str(posting.kind),
                "amount": str(value),
                "paid_on": day.isoformat(),
                "principal_outstanding": str(new.state.outstanding_principal),
                "by": by,
            }
            keys = {**doc.get("keys", {}), **({key: str(value)} if key else {})}
            meta = {**_posted(now), **({"key": key} if key else {})}
            return Change(new, [event("loan_repayment_recorded", doc, now, **payload)], {"keys": keys}, meta)

        return self._command(loan_id, act)

    def reschedule(
        self, loan_id: str, first_due_on: str, installments: int, expected: int, reason: str, by: str
    ) -> LoanDoc:
        def act(doc: LoanDoc, loan: Loan, now: datetime) -> Change:
            self._expect(doc, expected)
            first = date.fromisoformat(first_due_on) if _is_date(first_due_on, "from_date") else None
            if first is not None and first <= self.today():
                raise LoanInvalid({"from_date": "La primera cuota nueva debe vencer después de hoy"})
            new = loan.reschedule(self.today(), installments=installments or None, first_due_on=first,
                                  reason=reason[:500], by=by)  # fmt: skip
            return Change(new, [], {}, _posted(now))

        return self._command(loan_id, act)

    def request_write_off(self, loan_id: str, expected: int, reason: str, by: str) -> LoanDoc:
        def act(doc: LoanDoc, loan: Loan, now: datetime) -> Change:
            self._expect(doc, expected)
            if not reason.strip() or len(reason) > 1000:
                raise LoanInvalid({"reason": "Escriba el motivo del castigo (hasta 1000 caracteres)"})
            if doc["status"] != "activo":
                raise LoanStateError("Solo se castiga un crédito activo", fields={"loan_id": doc["status"]})
            request = {"reason": reason.strip(), "requested_by": by, "requested_at": now.isoformat()}
            return Change(loan, [], {"write_off": request}, {})

        return self._command(loan_id, act)

    def approve_write_off(self, loan_id: str, expected: int, by: str) -> LoanDoc:
        def act(doc: LoanDoc, loan: Loan, now: datetime) -> Change:
            self._expect(doc, expected)
            request = doc.get("write_off") or {}
            if not request:
                raise LoanStateError("No hay una solicitud de castigo", fields={"loan_id": "sin solicitud"})
            state = loan.state
            new = loan.write_off(self.today(), reason=request["reason"], approved_by=by, by=request["requested_by"])
            payload = {
                "principal": str(state.outstanding_principal),
                "interest": str(state.total_outstanding - state.outstanding_principal),
                "reason": request["reason"],
                "requested_by": request["requested_by"],
                "approved_by": by,
            }
            return Change(new, [event("loan_written_off", doc, now, **payload)], {"bucket": ""}, _posted(now))

        return self._command(loan_id, act)

    def set_pause(self, loan_id: str, paused: bool, on: str, expected: int, by: str) -> LoanDoc:
        def act(doc: LoanDoc, loan: Loan, now: datetime) -> Change:
            self._expect(doc, expected)
            day = date_of(on, "on", self.today())
            current = pauses_of(doc.get("pauses") or [])
            changed = delinquency.pause(current, day) if paused else delinquency.resume(current, day)
            return Change(loan, [], {"pauses": pauses_doc(changed)}, {})

        return self._command(loan_id, act)


def _posted(now: datetime) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "at": now.isoformat()}


def _meta(doc: LoanDoc) -> list[dict[str, Any]]:
    import json

    rows: list[dict[str, Any]] = json.loads(doc.get("book") or '{"postings": []}')["postings"]
    return [{k: r[k] for k in ("seq", "id", "at", "key") if k in r} for r in rows]


def _is_date(text: str, name: str) -> bool:
    if not text:
        return False
    try:
        date.fromisoformat(text.strip())
    except ValueError:
        raise LoanInvalid({name: "Escriba la fecha como AAAA-MM-DD"}) from None
    return True
