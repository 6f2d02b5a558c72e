"""Wires the income use cases to their adapters, once per process."""

from __future__ import annotations

import json
from dataclasses import dataclass

from crm_platform.clock import SystemClock
from crm_platform.config import ConfigError, Infrastructure, setting
from crm_platform.messaging import EventPublisher
from crm_platform.outbox import OutboxRelay
from services.income.adapters.actas_source import GrpcActaSource
from services.income.adapters.directory import BeneficiariesDirectory
from services.income.adapters.repository import DEFAULT_DB, MongoIncomeStore, MongoTrainingStore
from services.income.domain.errors import PlanInvalid
from services.income.domain.stages import SeededStages
from services.income.domain.viability import ViabilityRule
from services.income.service_layer.handlers import UNITS, IncomeHandlers
from services.income.service_layer.trainings import TrainingHandlers

SERVICE_NAME = "income"


@dataclass
class App:
    handlers: IncomeHandlers
    trainings: TrainingHandlers
    relay: OutboxRelay
    publisher: EventPublisher
    store: MongoIncomeStore
    directory: BeneficiariesDirectory
    actas: GrpcActaSource

    def close(self) -> None:
        self.directory.close()
        self.actas.close()
        self.publisher.close()
        self.store.close()


def viability_rule() -> ViabilityRule:
    """The configured viability rule (``INCOME_VIABILITY_RULE``, JSON), or the default."""
    raw = setting("INCOME_VIABILITY_RULE", "")
    if not raw:
        return ViabilityRule()
    try:
        return ViabilityRule.from_mapping(json.loads(raw))
    except (ValueError, PlanInvalid) as exc:
        raise ConfigError(f"INCOME_VIABILITY_RULE is not a valid rule: {exc}") from exc


def bootstrap(infra: Infrastructure | None = None) -> App:
    infra = infra or Infrastructure.from_env()
    store = MongoIncomeStore(infra.mongo_uri, setting("INCOME_DB", DEFAULT_DB))
    publisher = EventPublisher(infra.amqp_uri, SERVICE_NAME)
    relay = OutboxRelay(publisher, {UNITS: store.units})
    directory = BeneficiariesDirectory(setting("BENEFICIARIES_GRPC", "127.0.0.1:50051"))
    actas = GrpcActaSource(setting("ACTAS_GRPC", "127.0.0.1:50052"))
    clock = SystemClock()
    handlers = IncomeHandlers(store, directory, SeededStages(), relay, clock, viability_rule(), actas)
    trainings = TrainingHandlers(MongoTrainingStore(store.trainings), store, directory, clock)
    return App(handlers, trainings, relay, publisher, store, directory, actas)
