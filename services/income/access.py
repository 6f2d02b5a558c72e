"""Who may call each operation of the income service (``crm.income.v1.IncomeService``):
the one table. The gRPC server enforces it before any handler runs; the gateway
derives its 403s from it.

- Reading UPs, plans and trainings: every user. The sector catalogue, a UP and
  its plan also the documents service (the SERVICE role), which renders each
  approved plan version's PDF; listing and reading UPs also the reports
  service's backfill (SERVICE), which rebuilds its UPs from them.
- Registering UPs, moving their stages, editing and submitting plans, recording
  trainings: those who work with the families in the field (admin, coordinator,
  gestor, and the income adviser, "asesor G.I.", whose work this is).
- Recording the diagnosis and the capitalisation amount (facts the workflow's
  guards read), listing overdue UPs and workflow tasks: the field roles.
- Workflow definitions (list, read, check, publish) and migrating a UP to
  another version: coordinators (and admin).
- A UP's financial statements: the field roles record them; every user reads
  them with their ratios and trends.
- Approving or returning a plan: coordinators (and admin). The domain adds the
  four-eyes rule: nobody decides on a plan they submitted. The income adviser
  prepares plans and does not approve them: approval stays with coordination.

Microcredits (``crm.income.v1.LoansService``, ``LOANS_ACCESS``): everyone reads
products, loans and the portfolio indicators; the field roles register loans and
post repayments, prepayments and pauses of the delinquency clock, and ask for a
write-off; coordinators (and admin) create products, approve loans (not the person
who registered the loan: the handlers' four-eyes rule), disburse, reschedule,
approve write-offs (not the person who asked) and run the close of business.
"""

from __future__ import annotations

from crm_platform.access import ADMIN, COORDINATOR, GESTOR, INCOME_ADVISER, SERVICE, USER_ROLES, AccessTable, roles

READERS = roles(USER_ROLES)
FIELD = roles(ADMIN, COORDINATOR, GESTOR, INCOME_ADVISER)
DECIDERS = roles(ADMIN, COORDINATOR)

ACCESS: AccessTable = {
    "ListSectors": roles(READERS, SERVICE),
    "RegisterUnit": FIELD,
    "GetUnit": roles(READERS, SERVICE),
    "ListUnits": roles(READERS, SERVICE),
    "CountUnits": READERS,
    "ChangeStage": FIELD,
    "GetPlan": roles(READERS, SERVICE),
    "ListPlanVersions": READERS,
    "SavePlan": FIELD,
    "SubmitPlan": FIELD,
    "ApprovePlan": DECIDERS,
    "ReturnPlan": DECIDERS,
    "RecordTraining": FIELD,
    "ListTrainings": READERS,
    "RecordDiagnosis": FIELD,
    "SetCapitalization": FIELD,
    "ListDefinitions": DECIDERS,
    "GetDefinition": DECIDERS,
    "CheckDefinition": DECIDERS,
    "PublishDefinition": DECIDERS,
    "MigrateUnit": DECIDERS,
    "ListOverdue": FIELD,
    "ListTasks": FIELD,
    "CosignTask": FIELD,  # the engine admits only a person of the task's role, not its requester
    "RecordStatement": FIELD,
    "ListStatements": READERS,
}

LOANS_ACCESS: AccessTable = {
    "CreateProduct": DECIDERS,
    "ListProducts": READERS,
    "GetProduct": READERS,
    "CreateLoan": FIELD,
    "ApproveLoan": DECIDERS,
    "DisburseLoan": DECIDERS,
    "GetLoan": READERS,
    "ListLoans": READERS,
    "RecordRepayment": FIELD,
    "Prepay": FIELD,
    "Reschedule": DECIDERS,
    "RequestWriteOff": FIELD,
    "ApproveWriteOff": DECIDERS,
    "SetDelinquencyPause": FIELD,
    "PortfolioIndicators": READERS,
    "CloseBusinessDay": DECIDERS,
}
