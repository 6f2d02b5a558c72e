"""Wires the notifications use cases to their adapters, once per process."""

from __future__ import annotations

from dataclasses import dataclass

from crm_platform.config import ConfigError, Infrastructure, int_setting, setting
from crm_platform.messaging import EventPublisher
from crm_platform.outbox import BackgroundRelay, OutboxRelay
from services.notifications.adapters import repository
from services.notifications.adapters.directory import BeneficiariesDirectory
from services.notifications.adapters.ratelimit import ChannelRateLimits
from services.notifications.channels.base import ChannelRegistry
from services.notifications.channels.config import channels_from_env
from services.notifications.domain.phones import normalise_phone
from services.notifications.domain.retry import RetryPolicy
from services.notifications.domain.templates import render
from services.notifications.service_layer.handlers import NOTIFICATIONS, NotificationHandlers, SystemClock

SERVICE_NAME = "notifications"


@dataclass
class App:
    handlers: NotificationHandlers
    relay: OutboxRelay
    background: BackgroundRelay
    publisher: EventPublisher
    directory: BeneficiariesDirectory
    channels: ChannelRegistry

    def close(self) -> None:
        self.background.close()
        self.channels.close()
        self.directory.close()
        self.publisher.close()
        repository.disconnect()


def retry_policy_from_env() -> RetryPolicy:
    """Backoff for transient failures: ``NOTIFY_RETRY_BASE_SECONDS`` (2),
    ``NOTIFY_RETRY_CAP_SECONDS`` (600), ``NOTIFY_RETRY_MAX_ATTEMPTS`` (6)."""
    try:
        return RetryPolicy(
            base_seconds=float(setting("NOTIFY_RETRY_BASE_SECONDS", "2")),
            cap_seconds=float(setting("NOTIFY_RETRY_CAP_SECONDS", "600")),
            max_attempts=int_setting("NOTIFY_RETRY_MAX_ATTEMPTS", 6),
        )
    except ValueError as exc:
        raise ConfigError(f"NOTIFY_RETRY_*: {exc}") from None


def bootstrap(infra: Infrastructure | None = None) -> App:
    infra = infra or Infrastructure.from_env()
    repository.connect(infra.mongo_uri, setting("NOTIFICATIONS_DB", repository.DEFAULT_DB))
    log = repository.MongoDeliveryLog()
    publisher = EventPublisher(infra.amqp_uri, SERVICE_NAME)
    relay = OutboxRelay(publisher, {NOTIFICATIONS: log.notifications})
    # The dispatcher hands events to a thread: a send is not held up by the broker,
    # and the events are durable in the outbox already.
    background = BackgroundRelay(relay)
    directory = BeneficiariesDirectory(setting("BENEFICIARIES_GRPC", "127.0.0.1:50051"))
    channels = channels_from_env()
    handlers = NotificationHandlers(
        log=log,
        directory=directory,
        channels=channels,
        render=render,
        normalise_phone=normalise_phone,
        retry=retry_policy_from_env(),
        limiter=ChannelRateLimits.from_env(setting),
        relay=background,
        clock=SystemClock(),
        verify_base_url=setting("PUBLIC_VERIFY_BASE_URL", "http://127.0.0.1:8080/verificar"),
    )
    return App(handlers, relay, background, publisher, directory, channels)
