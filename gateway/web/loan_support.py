"""What the microcredit pages (``loan_pages``, ``loan_detail``, ``loan_products``,
``portfolio_pages``) share: who may do what (the loans access table, the one the
service enforces), the Spanish labels of states, buckets and postings, amounts and
rates as a person reads them, the names of UPs and people instead of ids, and a
schedule preview computed by the loan domain itself (the same code the service runs)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import grpc
from fastapi import Request

from crm_platform.access import allows
from crm_platform.proto_gen.crm.income.v1 import income_pb2 as ipb
from crm_platform.proto_gen.crm.income.v1 import loans_pb2 as pb
from gateway.web import forms
from gateway.web import income_support as inc
from gateway.web.app import Forbidden, Staff, WebApp
from gateway.web.financial_view import pesos, typed_amount
from services.income.access import LOANS_ACCESS as LOANS
from services.income.domain.loans.product import LoanInvalid, parse_product
from services.income.domain.loans.schedule import Schedule, generate

SECTION = "/app/creditos"
STATUS = {
    "solicitado": "Solicitado",
    "aprobado": "Aprobado",
    "activo": "Activo",
    "pagado": "Pagado",
    "cerrado": "Pagado",
    "castigado": "Castigado",
}
BUCKETS = {"al_dia": "Al día", "1-30": "1 a 30 días", "31-60": "31 a 60 días", "61-90": "61 a 90 días",
           "91-180": "91 a 180 días", "181+": "Más de 180 días"}  # fmt: skip
INSTALLMENT_STATES = {"pagada": "Pagada", "parcial": "Pago parcial", "vencida": "Vencida", "pendiente": "Pendiente"}
POSTINGS = {"desembolso": "Desembolso", "pago": "Pago", "prepago": "Prepago", "castigo": "Castigo"}
FREQUENCIES = {"mensual": "Mensual", "quincenal": "Quincenal (cada 14 días)", "semanal": "Semanal"}
METHODS = {"saldo_decreciente": "Saldo decreciente", "flat": "Flat (sobre el monto inicial)"}
AMORTIZATIONS = {"cuotas_iguales": "Cuotas iguales", "capital_igual": "Capital igual"}
PERIODS = {"igual_al_periodo": "Igual al periodo de pago", "diario": "Diario (días reales / 365)"}
OVERPAYMENTS = {"refuse": "Rechazar el pago que excede la deuda", "advance": "Guardar el excedente como anticipo"}
MODES = {"reducir_plazo": "Reducir el plazo (misma cuota)", "reducir_cuota": "Reducir la cuota (mismo plazo)"}
ALLOCATION = {"penalidades": "Penalidades", "cargos": "Cargos", "interes": "Interés", "capital": "Capital"}
SEXES = {**forms.SEXES, "": "Sin dato"}


def may(staff: Staff, operation: str) -> bool:
    return allows(LOANS, staff.user.role, operation)


def reader(web: WebApp, request: Request) -> Staff:
    return web.member(request, SECTION)


def writer(web: WebApp, request: Request, operation: str) -> Staff:
    """The signed-in user if their role may call ``operation``; otherwise a 403
    page, for a GET as for a POST."""
    staff = web.member(request, SECTION)
    if not may(staff, operation):
        raise Forbidden()
    return staff


def not_found(web: WebApp, request: Request, staff: Staff, message: str = "No existe ese crédito.") -> Any:
    return web.render(request, staff, "error.html", status=404, title="No encontrado", message=message)


def percent(text: str) -> str:
    """A fraction as text (``0.1234``) as ``12,34 %``; empty (nothing to divide by): ``—``."""
    try:
        value = Decimal(text) * 100
    except (InvalidOperation, ValueError):
        return "—"
    return f"{value:.2f}\u00a0%".replace(".", ",")


def bucket_label(code: str) -> str:
    return BUCKETS.get(code or "al_dia", f"{code} días")


def days_late(oldest_unpaid_due: str, today: date) -> int:
    """Days since the oldest unpaid due date (the list's figure; the loan's page gives
    the service's, which also discounts a paused clock)."""
    if not oldest_unpaid_due:
        return 0
    return max(0, (today - date.fromisoformat(oldest_unpaid_due)).days)


def today() -> date:
    return datetime.now(inc.COLOMBIA).date()


def unit_names(web: WebApp, staff: Staff, unit_ids: Iterable[str], community: str = "") -> dict[str, str]:
    """UP names by id: from one list call, then one call per UP still missing (a page's worth)."""
    wanted = set(unit_ids) - {""}
    found: dict[str, str] = {}
    if not wanted:
        return found
    listed = web.backend.call(
        web.backend.income.ListUnits, ipb.ListUnitsRequest(community_id=community[:64], limit=500), staff.user
    )
    found.update({u.id: u.name for u in listed.units if u.id in wanted})
    for unit_id in sorted(wanted - set(found))[:50]:
        try:
            found[unit_id] = web.backend.call(
                web.backend.income.GetUnit, ipb.GetUnitRequest(id=unit_id), staff.user
            ).name
        except grpc.RpcError as exc:
            if not inc.missing(exc):
                raise
    return found


def unit_loans(web: WebApp, staff: Staff, unit_id: str) -> list[dict[str, str]]:
    """A UP's loans (the newest 50) for its page's Créditos card, or none for a role that may not list them."""
    if not may(staff, "ListLoans"):
        return []
    found = web.backend.call(web.backend.loans.ListLoans, pb.ListLoansRequest(unit_id=unit_id, limit=50), staff.user)
    people, _ = inc.names(web, staff, [x.borrower_id for x in found.loans])
    return [
        {"id": x.id, "titular": people.get(x.borrower_id, x.borrower_id), "estado": STATUS.get(x.status, x.status),
         "monto": pesos(x.principal), "saldo": pesos(x.principal_outstanding or "0"),
         "tramo": bucket_label(x.bucket) if x.status == "activo" else "—"}
        for x in found.loans
    ]  # fmt: skip


def products(web: WebApp, staff: Staff) -> list[Any]:
    return list(web.backend.call(web.backend.loans.ListProducts, pb.ListProductsRequest(), staff.user).products)


def product_terms(product: Any) -> list[tuple[str, str]]:
    """A product's terms, labelled as a credit officer reads them."""
    p = product

    def grace(n: int) -> str:
        return f"{n} periodo{'s' if n != 1 else ''}" if n else "Sin gracia"

    buckets = ", ".join(b.label for b in p.buckets)
    low = f"desde {pesos(p.min_amount)}" if p.min_amount else "sin mínimo"
    limits = f"{low}, {f'hasta {pesos(p.max_amount)}' if p.max_amount else 'sin máximo'}"
    return [
        ("Frecuencia de pago", FREQUENCIES.get(p.frequency, p.frequency)),
        ("Número de cuotas", str(p.installments)),
        ("Tasa nominal anual", f"{p.annual_rate}\u00a0%".replace(".", ",")),
        ("Método de interés", METHODS.get(p.interest_method, p.interest_method)),
        ("Amortización", AMORTIZATIONS.get(p.amortization, p.amortization)),
        ("Periodo de cálculo del interés", PERIODS.get(p.interest_period, p.interest_period)),
        ("Gracia de capital", grace(p.principal_grace)),
        ("Gracia de pago de interés", grace(p.interest_grace)),
        ("Cuotas en múltiplos de", pesos(str(p.installment_multiple)) if p.installment_multiple > 1 else "1 peso"),
        ("Fechas en domingo o festivo", "Pasan al siguiente día hábil" if p.move_to_business_day else "No se mueven"),
        ("Orden de aplicación de los pagos", ", ".join(ALLOCATION.get(a, a) for a in p.allocation)),
        ("Gracia de mora", f"{p.arrears_grace_days} días"),
        ("Tramos de mora (días)", buckets),
        ("Sobrepago", OVERPAYMENTS.get(p.overpayment, p.overpayment)),
        ("Aviso antes de cada cuota", f"{p.reminder_days} días" if p.reminder_days else "El de la configuración"),
        ("Montos", limits),
    ]


def preview(
    product: Any, principal: str, disbursed_on: str, first_due_on: str
) -> tuple[Schedule | None, dict[str, str]]:
    """The schedule the loan domain would generate for these terms (the service runs
    the same ``generate`` at disbursement), or the problems by field."""
    problems: dict[str, str] = {}
    try:
        amount = Decimal(typed_amount(principal))
        if not amount.is_finite() or amount <= 0 or amount != amount.to_integral_value():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        problems["principal"] = "Escriba un monto en pesos enteros mayor que cero"
    days: dict[str, date | None] = {}
    for name, text in (("disbursed_on", disbursed_on), ("first_due_on", first_due_on)):
        try:
            days[name] = date.fromisoformat(text) if text else None
        except ValueError:
            problems[name] = "Escriba la fecha como AAAA-MM-DD"
    if problems:
        return None, problems
    try:
        terms = parse_product(product_values(product))
        schedule = generate(terms, amount, days["disbursed_on"] or today(), days["first_due_on"])
    except LoanInvalid as exc:
        return None, {("principal" if k == "principal" else k): v for k, v in exc.fields.items()}
    return schedule, {}


def product_values(product: Any) -> dict[str, object]:
    """A product message as the mapping ``parse_product`` reads."""
    values: dict[str, object] = {
        name: getattr(product, name)
        for name in ("code", "name", "frequency", "annual_rate", "interest_method", "amortization",
                     "interest_period", "overpayment", "installments", "principal_grace", "interest_grace",
                     "arrears_grace_days", "move_to_business_day")
    }  # fmt: skip
    values["installment_multiple"] = max(1, product.installment_multiple)
    values["allocation"] = list(product.allocation)
    values["buckets"] = [(b.from_days, b.to_days or None) for b in product.buckets]
    return {k: v for k, v in values.items() if v not in ("", [], None)}


def schedule_rows(schedule: Schedule) -> list[dict[str, str]]:
    return [
        {
            "number": str(i.number),
            "due_date": i.due_date.isoformat(),
            "principal": str(i.principal),
            "interest": str(i.interest),
            "fees": str(i.fees),
            "penalties": str(i.penalties),
            "total": str(i.total),
            "paid": "0",
            "outstanding": str(i.total),
            "state": "pendiente",
        }
        for i in schedule.installments
    ]


AMOUNT_COLUMNS = ("principal", "interest", "fees", "penalties", "total", "paid", "outstanding")


def totals(rows: Iterable[Any]) -> dict[str, str]:
    """The schedule's column sums (installments as messages or as dicts)."""
    sums = dict.fromkeys(AMOUNT_COLUMNS, Decimal(0))
    for row in rows:
        for name in AMOUNT_COLUMNS:
            value = row[name] if isinstance(row, Mapping) else getattr(row, name)
            sums[name] += Decimal(value or "0")
    return {k: str(v) for k, v in sums.items()}


def refusal(exc: grpc.RpcError, prefix: str) -> tuple[int, dict[str, str]]:
    """A refused call's status and its messages by this form's fields (``prefix.field``);
    a message with no field of the form goes to the form as a whole (``prefix.``)."""
    status, problems = forms.refusal(exc)
    out: dict[str, str] = {}
    for name, message in problems.items():
        key = f"{prefix}.{name}" if name in FORM_FIELDS.get(prefix, ()) else f"{prefix}."
        out[key] = f"{out[key]} {message}".strip() if key in out else message
    return status, out


FORM_FIELDS: dict[str, tuple[str, ...]] = {
    "aprobar": (),
    "desembolso": ("amount", "on", "first_due_on"),
    "pago": ("amount", "on", "note"),
    "prepago": ("amount", "on", "mode"),
    "reprogramar": ("from_date", "installments", "reason"),
    "castigo": ("reason",),
    "castigo-aprobar": (),
    "pausa": ("on", "reason"),
}
