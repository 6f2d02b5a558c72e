"""Who may call each operation of the income service (``crm.income.v1.IncomeService``):
the one table. The gRPC server enforces it before any handler runs; the gateway
derives its 403s from it.

- Reading UPs, plans and trainings: every user.
- Registering UPs, moving their stages, editing and submitting plans, recording
  trainings: those who work with the families in the field (admin, coordinator,
  gestor).
- Recording the diagnosis and the capitalisation amount (facts the workflow's
  guards read), listing overdue UPs and workflow tasks: the field roles.
- Workflow definitions (list, read, check, publish) and migrating a UP to
  another version: coordinators (and admin).
- Approving or returning a plan: coordinators (and admin). The domain adds the
  four-eyes rule: nobody decides on a plan they submitted. An "asesor G.I." role
  was not added: it would be a coordinator limited to income, which the platform's
  role set does not express yet.
"""

from __future__ import annotations

from crm_platform.access import ADMIN, COORDINATOR, GESTOR, USER_ROLES, AccessTable, roles

READERS = roles(USER_ROLES)
FIELD = roles(ADMIN, COORDINATOR, GESTOR)
DECIDERS = roles(ADMIN, COORDINATOR)

ACCESS: AccessTable = {
    "ListSectors": READERS,
    "RegisterUnit": FIELD,
    "GetUnit": READERS,
    "ListUnits": READERS,
    "CountUnits": READERS,
    "ChangeStage": FIELD,
    "GetPlan": READERS,
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
}
