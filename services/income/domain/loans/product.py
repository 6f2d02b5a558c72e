"""A loan product: the terms every loan made under it shares.

The fields follow Apache Fineract's loan product (repayment frequency, number of
repayments, nominal annual interest rate, interest method, amortization, interest
calculation period, grace periods, "installment amount in multiples of"); the
currency is COP with no decimals. ``LoanProduct.checked`` (or ``check_product``)
refuses what cannot amortize, naming each bad field with a Spanish message;
``parse_product`` reads the mapping of strings the API sends.

Fineract's two interest graces are both here: ``interest_grace`` is
``graceOnInterestPayment`` (interest accrues and is paid with the first installment
after the grace) and ``interest_free_grace`` is ``graceOnInterestCharged`` (no
interest at all for those periods)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from crm_platform import errors as vocabulary
from services.income.domain.errors import IncomeError


class LoanInvalid(IncomeError, vocabulary.InvalidArgument):
    """A product, loan or posting violates its rules; ``fields`` maps each bad field to why."""

    def __init__(self, errors: dict[str, str]) -> None:
        vocabulary.InvalidArgument.__init__(self, errors)


class Frequency(StrEnum):
    MONTHLY = "mensual"
    BIWEEKLY = "quincenal"  # every 14 days, as Fineract's "2 weeks"
    WEEKLY = "semanal"


PERIODS_PER_YEAR = {Frequency.MONTHLY: 12, Frequency.BIWEEKLY: 26, Frequency.WEEKLY: 52}


class InterestMethod(StrEnum):
    DECLINING_BALANCE = "saldo_decreciente"
    FLAT = "flat"


class Amortization(StrEnum):
    EQUAL_INSTALLMENTS = "cuotas_iguales"
    EQUAL_PRINCIPAL = "capital_igual"


class InterestPeriod(StrEnum):
    SAME_AS_REPAYMENT = "igual_al_periodo"
    DAILY = "diario"  # actual days / 365


class Allocation(StrEnum):
    PENALTIES = "penalidades"
    FEES = "cargos"
    INTEREST = "interes"
    PRINCIPAL = "capital"


DEFAULT_ALLOCATION: tuple[Allocation, ...] = (
    Allocation.PENALTIES,
    Allocation.FEES,
    Allocation.INTEREST,
    Allocation.PRINCIPAL,
)
DEFAULT_BUCKETS: tuple[tuple[int, int | None], ...] = ((1, 30), (31, 60), (61, 90), (91, 180), (181, None))


@dataclass(frozen=True)
class LoanProduct:
    code: str
    name: str
    frequency: Frequency
    installments: int
    annual_rate: Decimal  # nominal, in percent: Decimal("24") is 24 % a year
    interest_method: InterestMethod = InterestMethod.DECLINING_BALANCE
    amortization: Amortization = Amortization.EQUAL_INSTALLMENTS
    interest_period: InterestPeriod = InterestPeriod.SAME_AS_REPAYMENT
    principal_grace: int = 0  # periods with interest only
    interest_grace: int = 0  # periods where interest accrues and is paid with the first installment after
    installment_multiple: int = 1  # COP; installments rounded to a multiple of this
    currency: str = "COP"
    currency_digits: int = 0
    move_to_business_day: bool = False  # a due date on a Sunday or a Colombian holiday moves forward
    allocation: tuple[Allocation, ...] = DEFAULT_ALLOCATION
    arrears_grace_days: int = 0
    buckets: tuple[tuple[int, int | None], ...] = field(default=DEFAULT_BUCKETS)
    overpayment: str = "refuse"  # or "advance": keep the excess as an advance
    interest_free_grace: int = 0  # Fineract's graceOnInterestCharged: periods with no interest at all
    currency_multiple: int = 1  # Fineract's currency "in multiples of": every amount rounded to it (0 digits only)

    @classmethod
    def checked(cls, **values: Any) -> LoanProduct:
        """A product from keyword values, every rule checked (``LoanInvalid`` otherwise)."""
        try:
            product = cls(**values)
        except TypeError as exc:
            raise LoanInvalid({"producto": f"Campos del producto no válidos: {exc}"}) from None
        return check_product(product)

    @property
    def repayment_every(self) -> int:
        """Fineract's ``repaymentEvery``: biweekly is every 2 weeks."""
        return 2 if self.frequency is Frequency.BIWEEKLY else 1

    @property
    def fineract_periods_per_year(self) -> int:
        """Periods of the frequency *type* in a year (months 12, weeks 52), as Fineract's
        ``PaymentPeriodsInOneYearCalculator``; the periodic rate is then multiplied by
        ``repayment_every``."""
        return 12 if self.frequency is Frequency.MONTHLY else 52


OVERPAYMENT_POLICIES = ("refuse", "advance")
MAX_INSTALLMENTS = 360
MAX_ANNUAL_RATE = Decimal(200)


def _int_between(problems: dict[str, str], name: str, value: object, low: int, high: int, label: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        problems[name] = f"{label} debe ser un número entero entre {low} y {high}"


def check_product(product: LoanProduct) -> LoanProduct:
    """``product`` when every field keeps its rule; otherwise ``LoanInvalid`` naming
    every bad field (not only the first) with a Spanish message."""
    p: dict[str, str] = {}
    if not isinstance(product.code, str) or not product.code.strip() or len(product.code) > 40:
        p["code"] = "El código del producto es obligatorio (hasta 40 caracteres)"
    if not isinstance(product.name, str) or not product.name.strip() or len(product.name) > 120:
        p["name"] = "El nombre del producto es obligatorio (hasta 120 caracteres)"
    if not isinstance(product.frequency, Frequency):
        p["frequency"] = "La frecuencia debe ser mensual, quincenal o semanal"
    _int_between(p, "installments", product.installments, 1, MAX_INSTALLMENTS, "El número de cuotas")
    rate = product.annual_rate
    if not isinstance(rate, Decimal) or not rate.is_finite() or not Decimal(0) <= rate <= MAX_ANNUAL_RATE:
        p["annual_rate"] = "La tasa nominal anual debe estar entre 0 % y 200 %"
    if not isinstance(product.interest_method, InterestMethod):
        p["interest_method"] = "El método de interés debe ser saldo decreciente o flat"
    if not isinstance(product.amortization, Amortization):
        p["amortization"] = "La amortización debe ser cuotas iguales o capital igual"
    if not isinstance(product.interest_period, InterestPeriod):
        p["interest_period"] = "El periodo de cálculo del interés debe ser igual al periodo o diario"
    top = product.installments - 1 if isinstance(product.installments, int) and product.installments >= 1 else 0
    for name, label in (
        ("principal_grace", "La gracia de capital"),
        ("interest_grace", "La gracia de pago de interés"),
        ("interest_free_grace", "La gracia de interés (sin cobro)"),
    ):
        value = getattr(product, name)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top:
            p[name] = f"{label} debe ser de 0 a {top} periodos: menos que el número de cuotas"
    multiple = product.installment_multiple
    if not isinstance(multiple, int) or isinstance(multiple, bool) or multiple < 1:
        p["installment_multiple"] = "El múltiplo de la cuota debe ser un número entero de 1 o más"
    cm = product.currency_multiple
    if not isinstance(cm, int) or isinstance(cm, bool) or cm < 1 or (cm > 1 and product.currency_digits != 0):
        p["currency_multiple"] = "El múltiplo de la moneda es un entero de 1 o más, solo para moneda sin decimales"
    if not isinstance(product.currency, str) or len(product.currency) != 3 or not product.currency.isupper():
        p["currency"] = "La moneda debe ser un código ISO de tres letras (COP)"
    _int_between(p, "currency_digits", product.currency_digits, 0, 4, "Los decimales de la moneda")
    if not isinstance(product.move_to_business_day, bool):
        p["move_to_business_day"] = "Indique sí o no"
    allocation = product.allocation
    if (
        not isinstance(allocation, tuple)
        or sorted(map(str, allocation)) != sorted(map(str, Allocation))
        or not all(isinstance(a, Allocation) for a in allocation)
    ):
        p["allocation"] = "El orden de aplicación debe incluir penalidades, cargos, interés y capital, una vez cada uno"
    _int_between(p, "arrears_grace_days", product.arrears_grace_days, 0, 365, "La gracia de mora (días)")
    bucket_problem = _buckets_problem(product.buckets)
    if bucket_problem:
        p["buckets"] = bucket_problem
    if product.overpayment not in OVERPAYMENT_POLICIES:
        p["overpayment"] = "El sobrepago debe ser 'refuse' (rechazar) o 'advance' (anticipo)"
    if p:
        raise LoanInvalid(p)
    return product


def _buckets_problem(buckets: object) -> str:
    """Buckets must start at day 1, follow each other without gaps or overlaps, and end
    open (``None``) so every day past due falls in exactly one."""
    message = "Los tramos de mora deben empezar en el día 1, ser contiguos y terminar abiertos (181 o más)"
    if not isinstance(buckets, tuple) or not buckets:
        return message
    expected = 1
    for i, bucket in enumerate(buckets):
        if not isinstance(bucket, tuple) or len(bucket) != 2:
            return message
        low, high = bucket
        last = i == len(buckets) - 1
        if not isinstance(low, int) or low != expected:
            return message
        if last:
            if high is not None:
                return message
        elif not isinstance(high, int) or high < low:
            return message
        else:
            expected = high + 1
    return ""


# -- parsing the API's strings -------------------------------------------------------

_TRUE = {"true", "1", "si", "sí", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


def parse_product(data: Mapping[str, object]) -> LoanProduct:
    """A checked product from a mapping of strings (what the API sends): integers as
    digits, the rate as decimal text (``"24.5"`` or ``"24,5"``), enums by their Spanish
    value, ``allocation`` as ``"penalidades,cargos,interes,capital"``, ``buckets`` as
    ``"1-30,31-60,61-90,91-180,181-"``, booleans as true/false/sí/no. Unknown keys are
    refused; every bad field is reported at once."""
    known = {f.name for f in fields(LoanProduct)}
    problems: dict[str, str] = {k: "Campo desconocido" for k in data if k not in known}
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if key not in known:
            continue
        text = raw.strip() if isinstance(raw, str) else raw
        try:
            values[key] = _PARSERS.get(key, _as_text)(text)
        except (ValueError, InvalidOperation, TypeError):
            problems[key] = _PARSE_MESSAGES.get(key, "Valor no válido")
    for required in ("code", "name", "frequency", "installments", "annual_rate"):
        if required not in data:
            problems.setdefault(required, "Campo obligatorio")
    base = LoanProduct("x", "x", Frequency.MONTHLY, 1, Decimal(0))
    try:
        product = replace(base, **values)
        check_product(product)
    except LoanInvalid as exc:
        raise LoanInvalid({**exc.fields, **problems}) from None
    if problems:
        raise LoanInvalid(problems)
    return product


def _as_text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("text expected")
    return value


def _as_int(value: object) -> int:
    if isinstance(value, bool):
        raise TypeError("not a number")
    if isinstance(value, int):
        return value
    text = _as_text(value)
    if not text.lstrip("-").isdigit():
        raise ValueError(text)
    return int(text)


def _as_decimal(value: object) -> Decimal:
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return Decimal(value)
    text = _as_text(value)
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    number = Decimal(text)
    if not number.is_finite():
        raise ValueError(text)
    return number


def _as_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = _as_text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(text)


def _as_allocation(value: object) -> tuple[Allocation, ...]:
    parts = value if isinstance(value, (list, tuple)) else _as_text(value).split(",")
    return tuple(Allocation(str(x).strip().replace("é", "e")) for x in parts)


def _as_buckets(value: object) -> tuple[tuple[int, int | None], ...]:
    if isinstance(value, (list, tuple)):
        return tuple((int(a), None if b is None else int(b)) for a, b in value)
    out: list[tuple[int, int | None]] = []
    for part in _as_text(value).split(","):
        low, _, high = part.strip().partition("-")
        out.append((_as_int(low.strip()), _as_int(high.strip()) if high.strip() else None))
    return tuple(out)


_PARSERS: dict[str, Any] = {
    "frequency": lambda v: Frequency(_as_text(v)),
    "interest_method": lambda v: InterestMethod(_as_text(v)),
    "amortization": lambda v: Amortization(_as_text(v)),
    "interest_period": lambda v: InterestPeriod(_as_text(v)),
    "installments": _as_int,
    "principal_grace": _as_int,
    "interest_grace": _as_int,
    "interest_free_grace": _as_int,
    "installment_multiple": _as_int,
    "currency_digits": _as_int,
    "currency_multiple": _as_int,
    "arrears_grace_days": _as_int,
    "annual_rate": _as_decimal,
    "move_to_business_day": _as_bool,
    "allocation": _as_allocation,
    "buckets": _as_buckets,
}
_PARSE_MESSAGES = {
    "frequency": "La frecuencia debe ser mensual, quincenal o semanal",
    "interest_method": "El método de interés debe ser saldo_decreciente o flat",
    "amortization": "La amortización debe ser cuotas_iguales o capital_igual",
    "interest_period": "El periodo de cálculo del interés debe ser igual_al_periodo o diario",
    "annual_rate": "La tasa debe ser un número decimal (por ejemplo 24.5)",
    "move_to_business_day": "Indique sí o no",
    "allocation": "El orden de aplicación se escribe como penalidades,cargos,interes,capital",
    "buckets": "Los tramos se escriben como 1-30,31-60,61-90,91-180,181-",
}
