"""Exact amounts for the financial model: ``Decimal`` throughout, never ``float``.

Computation keeps full precision in one decimal context (``PRECISION`` significant
digits); only display rounds, to whole pesos (COP has no cents in practice) with
half-up rounding, written as GOV.CO does: ``$ 1.234.567``."""

from __future__ import annotations

import decimal
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

PRECISION = 40
PESO = Decimal(1)


def context() -> decimal.Context:
    """The context every financial computation runs in (independent of the thread's)."""
    return decimal.Context(prec=PRECISION, rounding=decimal.ROUND_HALF_EVEN)


def to_decimal(value: Any) -> Decimal:
    """``value`` (Decimal, int or text such as ``"1234.5"``) as a finite Decimal.

    Floats are refused: a binary float such as 0.1 is not the amount a person typed.
    Raises ValueError with a Spanish reason."""
    if isinstance(value, bool | float):
        raise ValueError("debe ser un número exacto (texto o entero), no un número de punto flotante")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        if not text:
            raise ValueError("es obligatorio")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"no es un número válido: {value!r}") from None
    else:
        raise ValueError("debe ser un número")
    if not number.is_finite():
        raise ValueError("debe ser un número finito")
    return number


def whole_pesos(amount: Decimal) -> Decimal:
    """``amount`` rounded half-up to whole pesos (for display and charts only)."""
    return amount.quantize(PESO, rounding=ROUND_HALF_UP)


def format_cop(amount: Decimal) -> str:
    """``amount`` as Colombian pesos for a person: ``$ 1.234.567``, ``-$ 5.000``."""
    pesos = int(whole_pesos(amount))
    sign = "-" if pesos < 0 else ""
    return f"{sign}$ {abs(pesos):,}".replace(",", ".")


def format_percent(fraction: Decimal, places: int = 2) -> str:
    """A fraction (0.1234) as a Spanish percentage: ``12,34 %``."""
    quantum = Decimal(1).scaleb(-places)
    value = (fraction * 100).quantize(quantum, rounding=ROUND_HALF_UP)
    return f"{value:,}".replace(",", "_").replace(".", ",").replace("_", ".") + " %"
