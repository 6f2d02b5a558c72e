"""Wires the beneficiaries use cases to their adapters, once per process."""

from __future__ import annotations

from dataclasses import dataclass

from crm_platform.clock import SystemClock
from crm_platform.config import Infrastructure, setting
from crm_platform.messaging import EventPublisher
from crm_platform.outbox import OutboxRelay
from services.beneficiaries.adapters import repository
from services.beneficiaries.adapters.crypto import AesGcmTemplateCipher
from services.beneficiaries.service_layer.handlers import (
    BENEFICIARIES,
    COMMUNITIES,
    FAMILIES,
    BeneficiaryHandlers,
)

SERVICE_NAME = "beneficiaries"


@dataclass
class App:
    handlers: BeneficiaryHandlers
    repo: repository.MongoRepository
    relay: OutboxRelay
    publisher: EventPublisher

    def close(self) -> None:
        self.publisher.close()
        repository.disconnect()


def bootstrap(infra: Infrastructure | None = None) -> App:
    infra = infra or Infrastructure.from_env()
    cipher = AesGcmTemplateCipher.from_env()
    repository.connect(infra.mongo_uri, setting("BENEFICIARIES_DB", repository.DEFAULT_DB))
    repo = repository.MongoRepository()
    publisher = EventPublisher(infra.amqp_uri, SERVICE_NAME)
    relay = OutboxRelay(
        publisher,
        {
            BENEFICIARIES: repo.beneficiaries,
            FAMILIES: repo.families,
            COMMUNITIES: repo.communities,
        },
    )
    handlers = BeneficiaryHandlers(repo=repo, relay=relay, cipher=cipher, clock=SystemClock())
    return App(handlers, repo, relay, publisher)
