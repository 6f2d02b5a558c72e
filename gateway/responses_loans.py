"""Response bodies of the microcredit routes (see ``gateway.responses``). Money is
whole COP as decimal text; dates are ISO text; ratios are fractions as decimal text
("0.052300" is 5.23 %), empty when the denominator is zero."""

from __future__ import annotations

from pydantic import Field

from gateway.responses import Out, Timestamp


class BucketOut(Out):
    from_days: int
    to_days: int = Field(description="0: sin límite")
    label: str


class ProductOut(Out):
    code: str
    name: str
    frequency: str
    installments: int
    annual_rate: str
    interest_method: str
    amortization: str
    interest_period: str
    principal_grace: int
    interest_grace: int
    installment_multiple: int
    move_to_business_day: bool
    allocation: list[str]
    arrears_grace_days: int
    buckets: list[BucketOut]
    overpayment: str
    reminder_days: int
    min_amount: str
    max_amount: str
    created_by: str
    created_at: Timestamp | None = None


class ProductsOut(Out):
    products: list[ProductOut]


class InstallmentOut(Out):
    number: int
    from_date: str
    due_date: str
    principal: str
    interest: str
    fees: str
    penalties: str
    total: str
    paid: str
    outstanding: str
    state: str = Field(description="pagada | parcial | vencida | pendiente")


class PostingOut(Out):
    id: str
    seq: int
    kind: str = Field(description="desembolso | pago | prepago | reprogramacion | castigo | ...")
    on: str
    amount: str
    principal: str
    interest: str
    fees: str
    penalties: str
    advance: str
    by: str
    at: Timestamp | None = None
    idempotency_key: str
    note: str


class BalancesOut(Out):
    disbursed: str
    principal_outstanding: str
    interest_outstanding: str
    total_outstanding: str
    overdue: str
    paid: str
    written_off: str
    advance: str


class ArrearsOut(Out):
    as_of: str
    days_past_due: int
    oldest_unpaid_due: str
    bucket: str = Field(description="Tramo de mora; vacío si está al día")
    paused: bool
    paused_since: str


class LoanOut(Out):
    id: str
    product_code: str
    unit_id: str
    family_id: str
    borrower_id: str
    owner_ids: list[str]
    community_id: str
    adviser_id: str
    sector: str
    owner_sex: str
    status: str = Field(description="solicitado | aprobado | activo | cerrado | castigado")
    principal: str
    purpose: str
    revision: int
    created_by: str
    approved_by: str
    created_at: Timestamp | None = None
    installments: list[InstallmentOut]
    postings: list[PostingOut]
    balances: BalancesOut | None = None
    arrears: ArrearsOut | None = None
    write_off_reason: str
    write_off_requested_by: str


class LoanSummaryOut(Out):
    id: str
    product_code: str
    unit_id: str
    borrower_id: str
    community_id: str
    adviser_id: str
    sector: str
    owner_sex: str
    status: str
    principal: str
    principal_outstanding: str
    oldest_unpaid_due: str
    bucket: str
    revision: int


class LoansOut(Out):
    loans: list[LoanSummaryOut]
    next_page_token: str = Field(description="page_token de la página siguiente; vacío si no hay más")


class IndicatorsOut(Out):
    loans: int
    principal_outstanding: str
    par30_principal: str
    par90_principal: str
    par30: str
    par90: str
    overdue: str
    arrears_rate: str
    due_to_date: str
    paid_to_date: str
    repayment_rate: str


class PortfolioGroupOut(Out):
    key: str
    indicators: IndicatorsOut | None = None
    loan_ids: list[str] = Field(description="Los créditos del grupo, los más atrasados primero")
    truncated: bool


class PortfolioOut(Out):
    as_of: str
    group_by: str
    totals: IndicatorsOut | None = None
    groups: list[PortfolioGroupOut]


class ClosingOut(Out):
    date: str
    loans_read: int
    loans_changed: int
    became_overdue: int
    bucket_changes: int
    reminders: int
    totals: IndicatorsOut | None = None
    seconds: str
