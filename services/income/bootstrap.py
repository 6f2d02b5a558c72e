"""Wires the income use cases to their adapters, once per process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from crm_platform.clock import Clock, SystemClock
from crm_platform.config import ConfigError, Infrastructure, setting
from crm_platform.messaging import EventPublisher
from crm_platform.outbox import OutboxRelay
from crm_platform.process import Periodic
from crm_platform.workflow.actions import ActionPorts, ActionRunner
from crm_platform.workflow.engine import WorkflowEngine
from crm_platform.workflow.examples import example
from crm_platform.workflow.mongo_store import MongoWorkflowStore
from crm_platform.workflow.sweeper import WorkflowSweeper
from services.income.adapters.actas_source import GrpcActaSource
from services.income.adapters.directory import BeneficiariesDirectory
from services.income.adapters.loan_balances import LedgerLoanBalances
from services.income.adapters.loan_store import LOANS, LoanStore
from services.income.adapters.repository import DEFAULT_DB, MongoIncomeStore, MongoTrainingStore
from services.income.adapters.statement_store import MongoStatementStore
from services.income.adapters.workflow import (
    DefinitionCatalog,
    TaskNotifier,
    UnitOutboxEvents,
    income_registry,
    publish_seeded,
)
from services.income.domain.errors import PlanInvalid
from services.income.domain.viability import ViabilityRule
from services.income.service_layer.definitions import WorkflowAdmin
from services.income.service_layer.handlers import IncomeHandlers
from services.income.service_layer.loan_close import EVENTS, LoanClose
from services.income.service_layer.loans import LoanHandlers
from services.income.service_layer.ports import Relay
from services.income.service_layer.stage_flow import SETTLE, UNITS, StageFlow
from services.income.service_layer.statements import StatementHandlers
from services.income.service_layer.trainings import TrainingHandlers

SERVICE_NAME = "income"
SEEDED_DEFINITION = "gi_unidad_productiva"


@dataclass
class App:
    handlers: IncomeHandlers
    trainings: TrainingHandlers
    relay: OutboxRelay
    publisher: EventPublisher
    store: MongoIncomeStore
    directory: BeneficiariesDirectory
    actas: GrpcActaSource
    engine: WorkflowEngine
    runner: ActionRunner
    workflow_store: MongoWorkflowStore
    admin: WorkflowAdmin
    statements: StatementHandlers
    loans: LoanHandlers
    closing: LoanClose

    def close(self) -> None:
        self.directory.close()
        self.actas.close()
        self.publisher.close()
        self.store.close()

    def background(self, interval: float | None = None) -> list[Periodic]:
        """The workflow sweeper (overdue announcements, pending actions), the
        repair of stage projections a crash interrupted (``stage_flow``) and the
        one-time count of UPs stored before the counts per stage (``unit_counts``)."""
        every = interval or float(setting("INCOME_WORKFLOW_SWEEP_SECONDS", "30"))
        clock = self.handlers.clock

        def repair() -> int:
            ids = self.store.interrupted(clock.now() - SETTLE)
            for unit_id in ids:
                self.handlers.unit(unit_id)  # reading an interrupted UP re-projects it
            return len(ids)

        return [
            WorkflowSweeper(self.engine, self.runner, clock, every),
            Periodic("stage-repair", repair, every),
            Periodic("unit-counts-backfill", self.store.backfill_counts, min(every, 5.0)),
            Periodic(
                "loans-close-of-business", self.close_yesterday, float(setting("INCOME_COB_CHECK_SECONDS", "600"))
            ),
        ]

    def close_yesterday(self) -> bool:
        """The daily close of business: once the day is over (Colombian time), close it
        if nobody has (a second close of the same day would change nothing anyway)."""
        yesterday = date.fromordinal(self.loans.today().toordinal() - 1)
        if self.closing.store.closing(yesterday.isoformat()) is not None:
            return False
        self.closing.close(yesterday)
        return True


def viability_rule() -> ViabilityRule:
    """The configured viability rule (``INCOME_VIABILITY_RULE``, JSON), or the default."""
    raw = setting("INCOME_VIABILITY_RULE", "")
    if not raw:
        return ViabilityRule()
    try:
        return ViabilityRule.from_mapping(json.loads(raw))
    except (ValueError, PlanInvalid) as exc:
        raise ConfigError(f"INCOME_VIABILITY_RULE is not a valid rule: {exc}") from exc


def workflow(
    store: MongoIncomeStore, relay: Relay, clock: Clock
) -> tuple[WorkflowEngine, ActionRunner, MongoWorkflowStore]:
    """The engine on the income database, its action runner with the income
    adapters, and the seeded definition published if absent or changed."""
    flow_store = MongoWorkflowStore(store.units.database)
    flow_store.ensure_indexes()
    registry = income_registry()
    events = UnitOutboxEvents(store.units, lambda unit_id: relay.flush(UNITS, unit_id), clock.now)
    runner = ActionRunner(ActionPorts(flow_store, events, TaskNotifier(flow_store, clock.now)), registry)
    engine = WorkflowEngine(flow_store, registry, clock, after_commit=runner.run)
    publish_seeded(engine, flow_store, example(SEEDED_DEFINITION), clock.now())
    return engine, runner, flow_store


def bootstrap(infra: Infrastructure | None = None) -> App:
    infra = infra or Infrastructure.from_env()
    store = MongoIncomeStore(infra.mongo_uri, setting("INCOME_DB", DEFAULT_DB))
    publisher = EventPublisher(infra.amqp_uri, SERVICE_NAME)
    loan_store = LoanStore(store.client, setting("INCOME_DB", DEFAULT_DB))
    relay = OutboxRelay(publisher, {UNITS: store.units, LOANS: loan_store.loans, EVENTS: loan_store.events})
    directory = BeneficiariesDirectory(setting("BENEFICIARIES_GRPC", "127.0.0.1:50051"))
    actas = GrpcActaSource(setting("ACTAS_GRPC", "127.0.0.1:50052"))
    clock = SystemClock()
    engine, runner, flow_store = workflow(store, relay, clock)
    flow = StageFlow(engine, store, relay, clock)
    handlers = IncomeHandlers(store, directory, flow, relay, clock, viability_rule(), actas)
    trainings = TrainingHandlers(MongoTrainingStore(store.trainings), store, directory, clock)
    admin = WorkflowAdmin(engine, flow_store, DefinitionCatalog(flow_store))
    loans = LoanHandlers(loan_store, store, directory, relay, clock)
    reminder = int(setting("INCOME_LOAN_REMINDER_DAYS", "3"))
    closing = LoanClose(loan_store, relay, clock.now, reminder)
    # The UP's debt in its statements: the principal its loans still owe (the ledger's).
    statements = StatementHandlers(
        MongoStatementStore(store.units.database["statements"]), store, LedgerLoanBalances(loan_store), clock
    )
    return App(
        handlers, trainings, relay, publisher, store, directory, actas, engine, runner, flow_store, admin, statements,
        loans, closing,
    )  # fmt: skip
