"""Who may call each operation of the documents service
(``crm.documents.v1.DocumentsService``): the one table. The gRPC server enforces
it before any handler runs; the gateway derives its 403s from it.

- An acta's PDF and stored photos: every user; but the PDF of an acta whose
  template's content is restricted (``crm_platform.access.RESTRICTED_CONTENT_READERS``,
  psychosocial interventions) only to the roles that may read that content: the
  use case (``DocumentHandlers.document``) refuses everyone else, since the
  record's template is not known before it is read.
- An approved action plan version's PDF: every user, as the plan itself.
- Storing a photo for an acta's photo field: those who capture actas (admin,
  coordinator, gestor, income adviser, psychosocial staff).
"""

from __future__ import annotations

from crm_platform.access import ADMIN, COORDINATOR, GESTOR, INCOME_ADVISER, PSYCHOSOCIAL, USER_ROLES, AccessTable, roles

READERS = roles(USER_ROLES)
WRITERS = roles(ADMIN, COORDINATOR, GESTOR, INCOME_ADVISER, PSYCHOSOCIAL)

ACCESS: AccessTable = {
    "GetActaDocument": READERS,
    "GetPlanDocument": READERS,
    "PutAttachment": WRITERS,
    "GetAttachment": READERS,
}
