"""Who may call what: the vocabulary of every service's access table.

Each service owns one table, ``services/<name>/access.py``: every operation of its
gRPC service, named by its gRPC method (``"ListDevices"``), mapped to the roles
that may call it. The service's gRPC server enforces the table before any handler
runs (``crm_platform.grpc_support.AccessInterceptor``, given the table through
``crm_platform.service.Servicer``); rules that depend on the record itself (whose
acta, which template) stay in the service's handlers and read their role sets
from the same module. The gateway derives its 403s from these tables, so HTTP and
gRPC never disagree (``tests/e2e/test_access_rules.py`` checks every pair).

An operation a table does not name is refused to everyone. This module imports
nothing but the standard library and ``crm_platform.errors``: domain code may use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from crm_platform import errors

# People, who log in at the gateway.
ADMIN = "admin"
COORDINATOR = "coordinator"
GESTOR = "gestor"
PSYCHOSOCIAL = "psychosocial"
# The income-generation adviser ("asesor G.I."): works with productive units, their
# plans, statements and microcredits, and captures the follow-up actas that evidence them.
INCOME_ADVISER = "income_adviser"
AUDITOR = "auditor"
USER_ROLES: tuple[str, ...] = (ADMIN, COORDINATOR, GESTOR, INCOME_ADVISER, PSYCHOSOCIAL, AUDITOR)

# Not people. A paired field kiosk gets KIOSK from a session signed with its device
# key; SERVICE is another process of the platform calling on its own behalf (the
# gateway checking a device, actas resolving participants); PUBLIC is the
# verification page a printed acta's QR code opens, with no login; PROVIDER is a
# messaging provider's delivery report, authenticated by the provider's signature.
KIOSK = "kiosk"
SERVICE = "service"
PUBLIC = "public"
PROVIDER = "provider"
INTERNAL_ROLES: tuple[str, ...] = (KIOSK, SERVICE, PUBLIC, PROVIDER)

ROLES: tuple[str, ...] = USER_ROLES + INTERNAL_ROLES

AccessTable = Mapping[str, frozenset[str]]
"""Operation (gRPC method name) -> the roles that may call it."""


def roles(*names: str | Iterable[str]) -> frozenset[str]:
    """A role set from names and other sets: ``roles(READERS, KIOSK)``."""
    out: set[str] = set()
    for name in names:
        out.update((name,) if isinstance(name, str) else name)
    unknown = out - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    return frozenset(out)


def allows(table: AccessTable, role: str, operation: str) -> bool:
    return role in table.get(operation, frozenset())


def denial(role: str, operation: str) -> str:
    """The message a refused caller reads (in Spanish: people read it)."""
    return f"El rol {role!r} no tiene permiso para esta operación ({operation})"


def check(table: AccessTable, role: str, operation: str) -> None:
    """Raise ``PermissionDenied`` unless the table lets ``role`` call ``operation``."""
    if not allows(table, role, operation):
        raise errors.PermissionDenied(denial(role, operation))


# -- restricted content -------------------------------------------------------------------
# Templates whose recorded content only some roles may read, by template code (the
# template key without its ``@version``). Everyone else may learn that such an acta
# exists, who took part and when, but not what was recorded: not in the JSON (the
# gateway redacts it), not in its PDF (the documents service gives them no link) and
# not in its name (notifications about it use neutral wording, never its title).
# The one source of truth: the actas service's ``CONTENT_READERS`` is this table, and
# the documents and notifications services read it here, without importing actas.
RESTRICTED_CONTENT_READERS: Mapping[str, frozenset[str]] = {
    "intervencion_psicosocial": roles(ADMIN, PSYCHOSOCIAL, AUDITOR),
}


def template_code(template_key: str) -> str:
    """``"intervencion_psicosocial@1"`` -> ``"intervencion_psicosocial"``."""
    return str(template_key).split("@", 1)[0]


def is_restricted(template_key: str) -> bool:
    """Whether actas of this template (key or code) have content only some roles may read."""
    return template_code(template_key) in RESTRICTED_CONTENT_READERS


def may_read_content(role: str, template_key: str) -> bool:
    """Whether ``role`` may read what an acta of this template (key or code) records."""
    readers = RESTRICTED_CONTENT_READERS.get(template_code(template_key))
    return readers is None or role in readers


def reads_all_content(role: str) -> bool:
    """Whether ``role`` may read the content of every restricted template."""
    return all(role in readers for readers in RESTRICTED_CONTENT_READERS.values())
