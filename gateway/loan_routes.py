"""HTTP routes of the microcredits (``crm.income.v1.LoansService``): loan products,
loans of a productive unit, their postings, and the portfolio (indicators and the
close of business).

The service owns every rule; a route checks the role against the service's access
table (``LOANS_ACCESS``), shapes the request and the reply. Bad input is 400 naming
each field; a stale revision, a loan that does not allow the operation (closed,
not approved, the same person approving) is 409."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import FastAPI, Query

from crm_platform.proto_gen.crm.income.v1 import loans_pb2 as pb
from gateway import auth, schemas
from gateway import responses as R
from gateway import responses_loans as RL
from gateway import schemas_loans as S
from gateway.deps import Backend, User, to_json
from services.income.access import LOANS_ACCESS as LOANS

API = "/api/v1"
PRODUCTS = f"{API}/productos-credito"
CREDITS = f"{API}/creditos"
TAGS: list[str | Any] = ["microcredits"]
Text = Annotated[str, Query(max_length=64)]
Token = Annotated[str, Query(max_length=200)]
GroupBy = Annotated[str, Query(max_length=20, description="comunidad | asesor | sector | sexo")]
IdsPerGroup = Annotated[int, Query(ge=0, le=1000)]


def _day(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def register(app: FastAPI, backend: Backend) -> None:
    L = backend.loans

    def call(user: auth.User, operation: str, request: Any) -> dict[str, Any]:
        auth.require(user, LOANS, operation)
        return to_json(backend.call(getattr(L, operation), request, user))

    # -- products ---------------------------------------------------------------------
    @app.post(PRODUCTS, status_code=201, tags=TAGS, response_model=RL.ProductOut, responses=R.WRITE)
    def create_product(body: S.ProductIn, user: User) -> dict[str, Any]:
        """A loan product (Fineract's terms); 400 names every field that cannot amortize."""
        values = body.model_dump(exclude={"buckets"})
        buckets = [pb.Bucket(from_days=b.from_days, to_days=b.to_days) for b in body.buckets]
        return call(user, "CreateProduct", pb.LoanProduct(**values, buckets=buckets))

    @app.get(PRODUCTS, tags=TAGS, response_model=RL.ProductsOut, responses=R.LIST)
    def products(user: User) -> dict[str, Any]:
        return call(user, "ListProducts", pb.ListProductsRequest())

    @app.get(f"{PRODUCTS}/{{code}}", tags=TAGS, response_model=RL.ProductOut, responses=R.READ)
    def product(code: str, user: User) -> dict[str, Any]:
        return call(user, "GetProduct", pb.GetProductRequest(code=code))

    # -- loans ------------------------------------------------------------------------
    @app.post(CREDITS, status_code=201, tags=TAGS, response_model=RL.LoanOut, responses=R.WRITE)
    def create_loan(body: S.LoanIn, user: User) -> dict[str, Any]:
        """A loan of a UP to one of its owners, waiting for approval by another person."""
        return call(user, "CreateLoan", pb.CreateLoanRequest(**body.model_dump()))

    @app.get(CREDITS, tags=TAGS, response_model=RL.LoansOut, responses=R.QUERY)
    def loans(
        user: User,
        community_id: Text = "",
        adviser_id: Text = "",
        sector: Text = "",
        status: Text = "",
        bucket: Text = "",
        unit_id: Text = "",
        limit: schemas.PageLimit = 50,
        page_token: Token = "",
    ) -> dict[str, Any]:
        """Loans by community, adviser, sector, status or arrears bucket (``al_dia`` for
        loans up to date), a page at a time (``next_page_token``)."""
        request = pb.ListLoansRequest(
            community_id=community_id, adviser_id=adviser_id, sector=sector, status=status, bucket=bucket,
            unit_id=unit_id, limit=limit, page_token=page_token,
        )  # fmt: skip
        return call(user, "ListLoans", request)

    @app.get(f"{CREDITS}/{{loan_id}}", tags=TAGS, response_model=RL.LoanOut, responses=R.READ)
    def loan(loan_id: str, user: User, as_of: dt.date | None = None) -> dict[str, Any]:
        """The loan with its schedule, ledger, balances and arrears (as of ``as_of``, default today)."""
        return call(user, "GetLoan", pb.GetLoanRequest(id=loan_id, as_of=_day(as_of)))

    @app.post(f"{CREDITS}/{{loan_id}}/aprobacion", tags=TAGS, response_model=RL.LoanOut, responses=R.ACTION)
    def approve_loan(loan_id: str, body: S.RevisionIn, user: User) -> dict[str, Any]:
        """Approval by a coordinator other than the person who registered the loan."""
        request = pb.LoanDecisionRequest(loan_id=loan_id, expected_revision=body.expected_revision)
        return call(user, "ApproveLoan", request)

    @app.post(f"{CREDITS}/{{loan_id}}/desembolsos", tags=TAGS, response_model=RL.LoanOut, responses=R.ACTION)
    def disburse(loan_id: str, body: S.DisbursementIn, user: User) -> dict[str, Any]:
        """The whole approved principal (``amount`` empty) or a tranche."""
        request = pb.DisburseRequest(
            loan_id=loan_id, amount=body.amount, on=_day(body.on), first_due_on=_day(body.first_due_on),
            expected_revision=body.expected_revision,
        )  # fmt: skip
        return call(user, "DisburseLoan", request)

    @app.post(f"{CREDITS}/{{loan_id}}/pagos", tags=TAGS, response_model=RL.LoanOut, responses=R.ACTION)
    def repay(loan_id: str, body: S.RepaymentIn, user: User) -> dict[str, Any]:
        """A repayment, oldest installment first in the product's order; a retry with the
        same ``idempotency_key`` returns the loan without paying twice."""
        request = pb.RepaymentRequest(
            loan_id=loan_id, amount=body.amount, on=_day(body.on), idempotency_key=body.idempotency_key,
            note=body.note,
        )  # fmt: skip
        return call(user, "RecordRepayment", request)

    @app.post(f"{CREDITS}/{{loan_id}}/prepago", tags=TAGS, response_model=RL.LoanOut, responses=R.ACTION)
    def prepay(loan_id: str, body: S.PrepaymentIn, user: User) -> dict[str, Any]:
        """Pays what is due and puts the rest on the principal (``reducir_plazo`` or ``reducir_cuota``)."""
        request = pb.PrepaymentRequest(
            loan_id=loan_id, amount=body.amount, on=_day(body.on), mode=body.mode,
            idempotency_key=body.idempotency_key,
        )  # fmt: skip
        return call(user, "Prepay", request)

    @app.post(f"{CREDITS}/{{loan_id}}/reprogramacion", tags=TAGS, response_model=RL.LoanOut, responses=R.ACTION)
    def reschedule(loan_id: str, body: S.RescheduleIn, user: User) -> dict[str, Any]:
        """A new schedule for the principal not yet due; the old one stays in the ledger."""
        request = pb.RescheduleRequest(
            loan_id=loan_id, from_date=_day(body.from_date), installments=body.installments,
            expected_revision=body.expected_revision, reason=body.reason,
        )  # fmt: skip
        return call(user, "Reschedule", request)

    @app.post(f"{CREDITS}/{{loan_id}}/castigo", tags=TAGS, response_model=RL.LoanOut, responses=R.ACTION)
    def request_write_off(loan_id: str, body: S.WriteOffIn, user: User) -> dict[str, Any]:
        """Asks for the write-off, with the reason; another person approves it."""
        request = pb.LoanDecisionRequest(loan_id=loan_id, expected_revision=body.expected_revision, reason=body.reason)
        return call(user, "RequestWriteOff", request)

    @app.post(f"{CREDITS}/{{loan_id}}/castigo/aprobacion", tags=TAGS, response_model=RL.LoanOut, responses=R.ACTION)
    def approve_write_off(loan_id: str, body: S.RevisionIn, user: User) -> dict[str, Any]:
        request = pb.LoanDecisionRequest(loan_id=loan_id, expected_revision=body.expected_revision)
        return call(user, "ApproveWriteOff", request)

    @app.post(f"{CREDITS}/{{loan_id}}/pausa-mora", tags=TAGS, response_model=RL.LoanOut, responses=R.ACTION)
    def pause(loan_id: str, body: S.PauseIn, user: User) -> dict[str, Any]:
        """Pauses (``paused`` true) or resumes the delinquency clock."""
        request = pb.DelinquencyPauseRequest(
            loan_id=loan_id, paused=body.paused, on=_day(body.on), expected_revision=body.expected_revision,
            reason=body.reason,
        )  # fmt: skip
        return call(user, "SetDelinquencyPause", request)

    # -- the portfolio ----------------------------------------------------------------
    @app.get(f"{API}/cartera/indicadores", tags=TAGS, response_model=RL.PortfolioOut, responses=R.QUERY)
    def portfolio(
        user: User, as_of: dt.date | None = None, group_by: GroupBy = "", ids_per_group: IdsPerGroup = 100
    ) -> dict[str, Any]:
        """PAR30, PAR90, arrears and repayment rates, in total and by community, adviser,
        sector or owner's sex, each group with its loans (the most late first)."""
        request = pb.PortfolioRequest(as_of=_day(as_of), group_by=group_by, ids_per_group=ids_per_group)
        return call(user, "PortfolioIndicators", request)

    @app.post(f"{API}/cartera/cierre", tags=TAGS, response_model=RL.ClosingOut, responses=R.ACTION)
    def close_business(body: S.ClosingIn, user: User) -> dict[str, Any]:
        """Closes a day that is over: ages every loan, emits the changes once, keeps the snapshot."""
        return call(user, "CloseBusinessDay", pb.CloseBusinessRequest(date=body.date.isoformat()))
