"""Wires the actas use cases to their adapters, once per process."""

from __future__ import annotations

from dataclasses import dataclass

from crm_platform.config import Infrastructure, int_setting, setting
from crm_platform.messaging import EventPublisher
from crm_platform.outbox import BackgroundRelay, OutboxRelay
from services.actas.adapters import repository
from services.actas.adapters.chain_heads import MongoHeadStore, signing_key_from_env
from services.actas.adapters.directory import BeneficiariesDirectory
from services.actas.service_layer.handlers import ACTAS, REJECTIONS, ActaHandlers, SystemClock
from services.actas.service_layer.heads import HeadPublisher

SERVICE_NAME = "actas"


@dataclass
class App:
    handlers: ActaHandlers
    repo: repository.MongoRepository
    relay: OutboxRelay
    publisher: EventPublisher
    directory: BeneficiariesDirectory
    background: BackgroundRelay | None = None
    heads: HeadPublisher | None = None

    def close(self) -> None:
        if self.background is not None:
            self.background.close()
        self.directory.close()
        self.publisher.close()
        repository.disconnect()


def bootstrap(
    infra: Infrastructure | None = None, publish_in_background: bool = False, chain_heads: bool = False
) -> App:
    """The wired service. ``publish_in_background``: a command returns once its
    write is durable and its events are published by a thread (the ingest worker
    acknowledges sooner; the outbox keeps them should the process die first).
    ``chain_heads``: load the operator's head-signing key and publish signed chain
    heads (the gRPC server; the ingest worker needs no key)."""
    infra = infra or Infrastructure.from_env()
    repository.connect(infra.mongo_uri, setting("ACTAS_DB", repository.DEFAULT_DB))
    repo = repository.MongoRepository()
    publisher = EventPublisher(infra.amqp_uri, SERVICE_NAME)
    relay = OutboxRelay(publisher, {ACTAS: repo.actas, REJECTIONS: repo.rejections})
    directory = BeneficiariesDirectory(setting("BENEFICIARIES_GRPC", "127.0.0.1:50051"))
    handlers = ActaHandlers(
        repo=repo,
        directory=directory,
        relay=relay,
        clock=SystemClock(),
        min_match_score=int_setting("ACTAS_MIN_MATCH_SCORE", 50),
    )
    background = BackgroundRelay(relay) if publish_in_background else None
    if background is not None:
        handlers.relay = background
    heads = HeadPublisher(MongoHeadStore(), signing_key_from_env(), SystemClock()) if chain_heads else None
    return App(handlers, repo, relay, publisher, directory, background, heads)
