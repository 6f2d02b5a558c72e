"""The gRPC servicer of the microcredits (``crm.income.v1.LoansService``), served by
``crm-income`` beside ``IncomeService``: methods only (the server's interceptors
check the access table ``LOANS_ACCESS`` and translate the error vocabulary)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import grpc

from crm_platform.grpc_support import current_caller
from crm_platform.proto_gen.crm.income.v1 import loans_pb2 as pb
from crm_platform.proto_gen.crm.income.v1 import loans_pb2_grpc as pb_grpc
from crm_platform.service import Servicer
from services.income.access import LOANS_ACCESS
from services.income.domain.loans.arrears import arrears
from services.income.domain.loans.product import Allocation, LoanInvalid
from services.income.service_layer.loan_ageing import DIMENSIONS
from services.income.service_layer.loan_close import LoanClose, indicators_doc
from services.income.service_layer.loan_codec import pauses_of, postings_of, product_of
from services.income.service_layer.loans import LoanHandlers, date_of

SERVICE_FULL_NAME = pb.DESCRIPTOR.services_by_name["LoansService"].full_name
PRODUCT_TEXT = ("code", "name", "frequency", "annual_rate", "interest_method", "amortization", "interest_period",
                "overpayment")  # fmt: skip
PRODUCT_INTS = ("installments", "principal_grace", "interest_grace", "installment_multiple", "arrears_grace_days")


def product_message(doc: dict[str, Any]) -> pb.LoanProduct:
    text: dict[str, Any] = {k: str(doc.get(k, "")) for k in PRODUCT_TEXT}
    ints: dict[str, Any] = {k: int(doc.get(k, 0)) for k in PRODUCT_INTS}
    message = pb.LoanProduct(
        **text,
        **ints,
        move_to_business_day=bool(doc.get("move_to_business_day")),
        allocation=list(doc.get("allocation", [])),
        buckets=[
            pb.Bucket(from_days=low, to_days=high or 0, label=f"{low}+" if high is None else f"{low}-{high}")
            for low, high in doc.get("buckets", [])
        ],
        reminder_days=int(doc.get("reminder_days", 0)),
        min_amount=doc.get("min_amount", ""),
        max_amount=doc.get("max_amount", ""),
        created_by=doc.get("created_by", ""),
    )
    if doc.get("created_at"):
        message.created_at.FromDatetime(doc["created_at"])
    return message


def _day(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat() if ordinal else ""


def loan_message(doc: dict[str, Any], loan: Any, as_of: date) -> pb.Loan:
    state = loan.state
    rows = []
    for i in state.installments:
        total = sum(i.due.values(), Decimal(0))
        left = i.total_outstanding
        if left == 0:
            status = "pagada"
        elif i.due_date < as_of:
            status = "vencida"
        elif left < total:
            status = "parcial"
        else:
            status = "pendiente"
        rows.append(
            pb.Installment(
                number=i.number, from_date=i.from_date.isoformat(), due_date=i.due_date.isoformat(),
                principal=str(i.due[Allocation.PRINCIPAL]), interest=str(i.due[Allocation.INTEREST]),
                fees=str(i.due[Allocation.FEES]), penalties=str(i.due[Allocation.PENALTIES]), total=str(total),
                paid=str(sum(i.paid.values(), Decimal(0))), outstanding=str(left), state=status,
            )
        )  # fmt: skip
    _, stored = postings_of(doc.get("book", ""))
    postings = []
    for p, extra in zip(loan.postings, stored, strict=True):
        parts = {c: Decimal(0) for c in ("capital", "interes", "cargos", "penalidades")}
        for _, component, amount in p.shares:
            parts[str(component)] += amount
        message = pb.Posting(
            id=extra.get("id", ""), seq=p.seq, kind=str(p.kind), on=p.on.isoformat(), amount=str(p.amount),
            principal=str(parts["capital"] + p.prepaid_principal), interest=str(parts["interes"]),
            fees=str(parts["cargos"]), penalties=str(parts["penalidades"]), advance=str(p.advance), by=p.by,
            idempotency_key=extra.get("key", ""), note=p.reason,
        )  # fmt: skip
        if extra.get("at"):
            from datetime import datetime

            message.at.FromDatetime(datetime.fromisoformat(extra["at"]))
        postings.append(message)
    pauses = pauses_of(doc.get("pauses") or [])
    found = arrears(product_of(doc["product"]), state.unpaid_due_dates(as_of), as_of, pauses)
    paid = sum((sum(i.paid.values(), Decimal(0)) for i in state.installments), Decimal(0))
    written = sum((sum(i.written_off.values(), Decimal(0)) for i in state.installments), Decimal(0))
    request = doc.get("write_off") or {}
    open_pause = next((p for p in pauses if p.end is None), None)
    return pb.Loan(
        id=doc["_id"], product_code=doc["product_code"], unit_id=doc["unit_id"], family_id=doc["family_id"],
        borrower_id=doc["borrower_id"], owner_ids=doc["owner_ids"], community_id=doc["community_id"],
        adviser_id=doc["adviser_id"], sector=doc["sector"], owner_sex=doc.get("owner_sex", ""), status=doc["status"],
        principal=doc["principal"], purpose=doc.get("purpose", ""), revision=doc["rev"],
        created_by=doc["created_by"], approved_by=doc.get("approved_by", ""), installments=rows, postings=postings,
        balances=pb.Balances(
            disbursed=str(state.disbursed), principal_outstanding=str(state.outstanding_principal),
            interest_outstanding=str(state.outstanding(Allocation.INTEREST)),
            total_outstanding=str(state.total_outstanding),
            overdue=str(state.overdue(as_of)), paid=str(paid), written_off=str(written), advance=str(state.advance),
        ),
        arrears=pb.Arrears(
            as_of=as_of.isoformat(), days_past_due=found.days_past_due,
            oldest_unpaid_due=found.oldest_unpaid_due.isoformat() if found.oldest_unpaid_due else "",
            bucket=found.bucket or "", paused=open_pause is not None,
            paused_since=open_pause.start.isoformat() if open_pause else "",
        ),
        write_off_reason=request.get("reason", ""), write_off_requested_by=request.get("requested_by", ""),
    )  # fmt: skip


def summary_message(doc: dict[str, Any]) -> pb.LoanSummary:
    return pb.LoanSummary(
        id=doc["_id"], product_code=doc["product_code"], unit_id=doc["unit_id"], borrower_id=doc["borrower_id"],
        community_id=doc["community_id"], adviser_id=doc["adviser_id"], sector=doc["sector"],
        owner_sex=doc.get("owner_sex", ""), status=doc["status"], principal=doc["principal"],
        principal_outstanding=str(doc.get("out", 0)), oldest_unpaid_due=_day(doc.get("oldest", 0)),
        bucket=doc.get("bucket", ""), revision=doc["rev"],
    )  # fmt: skip


class LoansServicer(pb_grpc.LoansServiceServicer):
    def __init__(self, handlers: LoanHandlers, closing: LoanClose) -> None:
        self.h, self.cob = handlers, closing

    def _loan(self, doc: dict[str, Any], as_of: date | None = None) -> pb.Loan:
        return loan_message(doc, self.h.ledger(doc), as_of or self.h.today())

    def CreateProduct(self, request: pb.LoanProduct, context: grpc.ServicerContext) -> pb.LoanProduct:
        by, _ = current_caller()
        values: dict[str, Any] = {k: getattr(request, k) for k in PRODUCT_TEXT}
        values.update({k: getattr(request, k) for k in PRODUCT_INTS})
        values["move_to_business_day"] = request.move_to_business_day
        if request.allocation:
            values["allocation"] = list(request.allocation)
        if request.buckets:
            values["buckets"] = [(b.from_days, b.to_days or None) for b in request.buckets]
        extras = {"reminder_days": request.reminder_days, "min_amount": request.min_amount,
                  "max_amount": request.max_amount}  # fmt: skip
        return product_message(self.h.create_product(values, extras, by))

    def ListProducts(self, request: pb.ListProductsRequest, context: grpc.ServicerContext) -> pb.ListProductsResponse:
        return pb.ListProductsResponse(products=[product_message(d) for d in self.h.products()])

    def GetProduct(self, request: pb.GetProductRequest, context: grpc.ServicerContext) -> pb.LoanProduct:
        return product_message(self.h.product(request.code))

    def CreateLoan(self, request: pb.CreateLoanRequest, context: grpc.ServicerContext) -> pb.Loan:
        by, _ = current_caller()
        doc = self.h.create_loan(
            request.unit_id, request.borrower_id, request.product_code, request.principal, request.purpose,
            request.adviser_id, by,
        )  # fmt: skip
        return self._loan(doc)

    def ApproveLoan(self, request: pb.LoanDecisionRequest, context: grpc.ServicerContext) -> pb.Loan:
        by, _ = current_caller()
        return self._loan(self.h.approve(request.loan_id, request.expected_revision, by))

    def DisburseLoan(self, request: pb.DisburseRequest, context: grpc.ServicerContext) -> pb.Loan:
        by, _ = current_caller()
        doc = self.h.disburse(
            request.loan_id, request.amount, request.on, request.first_due_on, request.expected_revision, by
        )
        return self._loan(doc)

    def GetLoan(self, request: pb.GetLoanRequest, context: grpc.ServicerContext) -> pb.Loan:
        as_of = _as_of(request.as_of, self.h.today())
        return self._loan(self.h.loan(request.id), as_of)

    def ListLoans(self, request: pb.ListLoansRequest, context: grpc.ServicerContext) -> pb.ListLoansResponse:
        filters = {k: getattr(request, k) for k in ("community_id", "adviser_id", "sector", "status", "bucket",
                                                    "unit_id")}  # fmt: skip
        found, token = self.h.loans(filters, request.page_token, request.limit)
        return pb.ListLoansResponse(loans=[summary_message(d) for d in found], next_page_token=token)

    def RecordRepayment(self, request: pb.RepaymentRequest, context: grpc.ServicerContext) -> pb.Loan:
        by, _ = current_caller()
        return self._loan(self.h.repay(request.loan_id, request.amount, request.on, request.idempotency_key, by))

    def Prepay(self, request: pb.PrepaymentRequest, context: grpc.ServicerContext) -> pb.Loan:
        by, _ = current_caller()
        if not request.mode:
            raise LoanInvalid({"mode": "Indique reducir_plazo o reducir_cuota"})
        doc = self.h.repay(request.loan_id, request.amount, request.on, request.idempotency_key, by, request.mode)
        return self._loan(doc)

    def Reschedule(self, request: pb.RescheduleRequest, context: grpc.ServicerContext) -> pb.Loan:
        by, _ = current_caller()
        doc = self.h.reschedule(
            request.loan_id, request.from_date, request.installments, request.expected_revision, request.reason, by
        )
        return self._loan(doc)

    def RequestWriteOff(self, request: pb.LoanDecisionRequest, context: grpc.ServicerContext) -> pb.Loan:
        by, _ = current_caller()
        return self._loan(self.h.request_write_off(request.loan_id, request.expected_revision, request.reason, by))

    def ApproveWriteOff(self, request: pb.LoanDecisionRequest, context: grpc.ServicerContext) -> pb.Loan:
        by, _ = current_caller()
        return self._loan(self.h.approve_write_off(request.loan_id, request.expected_revision, by))

    def SetDelinquencyPause(self, request: pb.DelinquencyPauseRequest, context: grpc.ServicerContext) -> pb.Loan:
        by, _ = current_caller()
        doc = self.h.set_pause(request.loan_id, request.paused, request.on, request.expected_revision, by)
        return self._loan(doc)

    def PortfolioIndicators(self, request: pb.PortfolioRequest, context: grpc.ServicerContext) -> pb.PortfolioResponse:
        as_of = _as_of(request.as_of, self.h.today())
        if request.group_by and request.group_by not in DIMENSIONS:
            raise LoanInvalid({"group_by": "Agrupe por comunidad, asesor, sector o sexo"})
        if not 0 <= request.ids_per_group <= 1000:
            raise LoanInvalid({"ids_per_group": "Entre 0 y 1000 créditos por grupo"})
        totals, groups = self.cob.portfolio(as_of, request.group_by, request.ids_per_group or 100)
        return pb.PortfolioResponse(
            as_of=as_of.isoformat(),
            group_by=request.group_by,
            totals=pb.Indicators(**indicators_doc(totals)),
            groups=[
                pb.PortfolioGroup(key=key, indicators=pb.Indicators(**indicators_doc(ind)), loan_ids=ids,
                                  truncated=truncated)
                for key, ind, ids, truncated in groups
            ],
        )  # fmt: skip

    def CloseBusinessDay(
        self, request: pb.CloseBusinessRequest, context: grpc.ServicerContext
    ) -> pb.CloseBusinessResponse:
        if not request.date:
            raise LoanInvalid({"date": "Indique el día que se cierra"})
        day = date_of(request.date, "date", self.h.today())
        if day >= self.h.today():
            raise LoanInvalid({"date": "Solo se cierra un día que ya terminó"})
        done = self.cob.close(day)
        return pb.CloseBusinessResponse(
            date=day.isoformat(), loans_read=done.loans_read, loans_changed=done.loans_changed,
            became_overdue=done.became_overdue, bucket_changes=done.bucket_changes, reminders=done.reminders,
            totals=pb.Indicators(**indicators_doc(done.totals)), seconds=f"{done.seconds:.3f}",
        )  # fmt: skip


def _as_of(text: str, today: date) -> date:
    if not text:
        return today
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise LoanInvalid({"as_of": "Escriba la fecha como AAAA-MM-DD"}) from None


def servicer(handlers: LoanHandlers, closing: LoanClose) -> Servicer:
    return Servicer(
        LoansServicer(handlers, closing), pb_grpc.add_LoansServiceServicer_to_server, SERVICE_FULL_NAME, LOANS_ACCESS
    )
