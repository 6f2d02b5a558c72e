"""Microcredit messages: the income service's close of business says a repayment is
due soon (``income.loan_repayment_due``) or a loan became overdue
(``income.loan_became_overdue``); the borrower gets one message for each.

Only the borrower (``borrower_id``, a beneficiary): the co-owners of the UP are not
told about a debt that is not theirs to pay. Queueing is all these triggers do, as
for actas: the dispatcher resolves the person through the beneficiaries service
when it sends, so consent (``notifications``, granted and not withdrawn: else
``skipped`` with the reason), the channel preference and the fallback are the
same rules as every other message, applied to the person as they are then.

One record per event identity, whatever the delivery count:

- reminder: ``loan_repayment_due:<loan>:<installment>:<due date>:<person>`` (a
  rescheduled installment with a new due date gets its own reminder);
- overdue notice: ``loan_became_overdue:<loan>:<as of>:<person>`` (a loan that
  is cured and falls behind again on a later close is told again).

Both are under the trigger ``prestamo:<loan>``, so the delivery log answers "what
did this borrower hear about this loan"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.notifications.domain.templates import pesos, short_date
from services.notifications.service_layer.sends import LOAN_SCHEME, Queued, Sends

REMINDER_TEMPLATE = "recordatorio_pago"
OVERDUE_TEMPLATE = "cuota_vencida"
REFERENCE_LENGTH = 8


def loan_trigger(loan_id: str) -> str:
    return f"{LOAN_SCHEME}:{loan_id}"


def loan_reference(loan_id: str) -> str:
    """How the message names the loan: the first characters of its id, in capitals
    (a loan has no other name; the UP's name is not in the event)."""
    return loan_id[:REFERENCE_LENGTH].upper()


class LoanMessages(Sends):
    """Mixed into ``NotificationHandlers``; queues through ``Sends._queue``."""

    def on_loan_repayment_due(self, payload: Mapping[str, Any]) -> Queued:
        """One ``recordatorio_pago`` to the borrower: installment, due date
        (dd/mm/aaaa) and the amount still due on it (``$ 1.234.567``)."""
        loan_id = str(payload["loan_id"])
        installment = str(payload.get("installment") or "")
        due = str(payload.get("due_date") or "")
        variables = {
            "credito": loan_reference(loan_id),
            "cuota": installment,
            "fecha_pago": short_date(due),
            "valor": pesos(payload.get("amount_due")),
        }
        prefix = f"loan_repayment_due:{loan_id}:{installment}:{due}"
        return self._queue(_borrower(payload), REMINDER_TEMPLATE, variables, prefix, loan_trigger(loan_id))

    def on_loan_became_overdue(self, payload: Mapping[str, Any]) -> Queued:
        """One ``cuota_vencida`` to the borrower: days past due and the amount overdue."""
        loan_id = str(payload["loan_id"])
        variables = {
            "credito": loan_reference(loan_id),
            "dias": str(payload.get("days_past_due") or ""),
            "valor": pesos(payload.get("overdue_amount")),
        }
        prefix = f"loan_became_overdue:{loan_id}:{payload.get('as_of') or ''}"
        return self._queue(_borrower(payload), OVERDUE_TEMPLATE, variables, prefix, loan_trigger(loan_id))


def _borrower(payload: Mapping[str, Any]) -> dict[str, None]:
    borrower = str(payload.get("borrower_id") or "").strip()
    return {borrower: None} if borrower else {}
