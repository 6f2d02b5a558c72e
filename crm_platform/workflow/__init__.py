"""The shared workflow engine: definitions as data, CEL guards, optimistic
transitions, automatic actions through the outbox, timers. No domain code.

Modules (each states its contract): ``model`` (values), ``definition`` (reading
and checking a definition), ``guards`` (CEL), ``engine`` (use cases),
``actions`` (handlers, registry, runner), ``store`` (port and in-memory fake),
``mongo_store`` (pymongo adapter), ``codec`` (document shapes), ``sweeper``
(the periodic overdue and outbox sweep), ``errors``.
``examples/`` holds the seeded G.I. definition.
"""

from crm_platform.workflow.actions import ActionPorts, ActionRunner, default_registry
from crm_platform.workflow.engine import OVERDUE_EVENT, WorkflowEngine
from crm_platform.workflow.errors import DefinitionInvalid, GuardFailed, TransitionNotAllowed, VersionConflict
from crm_platform.workflow.store import InMemoryWorkflowStore

__all__ = [
    "OVERDUE_EVENT",
    "ActionPorts",
    "ActionRunner",
    "DefinitionInvalid",
    "GuardFailed",
    "InMemoryWorkflowStore",
    "TransitionNotAllowed",
    "VersionConflict",
    "WorkflowEngine",
    "default_registry",
]
