"""The notifications service process: ``crm-notifications``.

- consumes ``actas.acta_sealed`` (queue ``notifications.acta_sealed``) and queues
  one message per participant; a message is acknowledged once the records are
  durable, so a crash never forgets a notification;
- the dispatcher thread sends what is due (retries included) and the outbox
  sweeper republishes events a crash or a broker outage left behind;
- serves gRPC (``NotificationsService``): ad-hoc sends and the delivery log.

A plain kombu consumer rather than nameko, as in the documents service: channel
adapters block on HTTP and SMTP, which belongs in ordinary threads.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
from kombu import Connection
from opentelemetry import trace

from crm_platform import grpc_support, process
from crm_platform.config import Infrastructure, int_setting, setting
from crm_platform.event_consumer import EventConsumer
from crm_platform.outbox import OutboxSweeper
from crm_platform.proto_gen.crm.notifications.v1 import notifications_pb2 as pb
from crm_platform.proto_gen.crm.notifications.v1 import notifications_pb2_grpc as pb_grpc
from crm_platform.telemetry import setup_tracing, shutdown_tracing
from services.notifications.bootstrap import SERVICE_NAME, App, bootstrap
from services.notifications.domain.model import (
    ChannelName,
    Notification,
    WebhookMalformed,
    WebhookRejected,
    WebhookRequest,
)
from services.notifications.entrypoints.dispatcher import Dispatcher
from services.notifications.service_layer.handlers import Audience, InvalidRequest, NotFound, ReportConflict
from services.notifications.service_layer.ports import DirectoryUnavailable

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)
F = TypeVar("F", bound=Callable[..., Any])
SERVICE_FULL_NAME = pb.DESCRIPTOR.services_by_name["NotificationsService"].full_name


# -- gRPC ----------------------------------------------------------------------------------
def _translate(method: F) -> F:
    """Map the use cases' errors to gRPC status codes (the only place that does)."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except InvalidRequest as exc:
            grpc_support.abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc), exc.fields)
        except NotFound as exc:
            grpc_support.abort(context, grpc.StatusCode.NOT_FOUND, str(exc))
        except (DirectoryUnavailable, ReportConflict) as exc:
            grpc_support.abort(context, grpc.StatusCode.UNAVAILABLE, str(exc))
        except WebhookRejected as exc:
            grpc_support.abort(context, grpc.StatusCode.PERMISSION_DENIED, f"Webhook rechazado: {exc}")
        except WebhookMalformed as exc:
            grpc_support.abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"Webhook ilegible: {exc}")
        return None  # unreachable: abort raises

    return wrapper  # type: ignore[return-value]


def to_pb(n: Notification) -> pb.Notification:
    message = pb.Notification(
        message_key=n.message_key,
        recipient_id=n.recipient_id,
        template=n.template,
        trigger=n.trigger,
        status=str(n.status),
        reason=n.reason,
    )
    message.created_at.FromDatetime(n.created_at)
    if n.next_attempt_at is not None:
        message.next_attempt_at.FromDatetime(n.next_attempt_at)
    for a in n.attempts:
        attempt = message.attempts.add(
            channel=str(a.channel), outcome=a.outcome, detail=a.detail, provider_message_id=a.provider_message_id
        )
        attempt.at.FromDatetime(a.at)
    return message


class NotificationsServicer(pb_grpc.NotificationsServiceServicer):
    def __init__(self, app: App) -> None:
        self.h = app.handlers

    @_translate
    def Send(self, request: pb.SendRequest, context: grpc.ServicerContext) -> pb.SendResponse:
        audience = Audience(
            recipient_ids=tuple(request.recipients.ids),
            family_id=request.family_id,
            community_id=request.community_id,
        )
        queued = self.h.send(
            audience, request.template, dict(request.variables), request.message_key_prefix, request.trigger
        )
        return pb.SendResponse(message_keys=queued.message_keys, queued=queued.new)

    @_translate
    def GetNotification(self, request: pb.GetNotificationRequest, context: grpc.ServicerContext) -> pb.Notification:
        return to_pb(self.h.notification(request.message_key))

    @_translate
    def ListDeliveries(
        self, request: pb.ListDeliveriesRequest, context: grpc.ServicerContext
    ) -> pb.ListDeliveriesResponse:
        found = self.h.deliveries(
            recipient_id=request.recipient_id, trigger=request.trigger, status=request.status, limit=request.limit
        )
        return pb.ListDeliveriesResponse(notifications=[to_pb(n) for n in found])

    @_translate
    def ReceiveWebhook(self, request: pb.WebhookRequest, context: grpc.ServicerContext) -> pb.WebhookResponse:
        try:
            channel = ChannelName(request.channel)
        except ValueError:
            raise NotFound(f"No existe el canal {request.channel!r}") from None
        webhook = WebhookRequest(
            method=request.method.upper(),
            url=request.url,
            headers={k.lower(): v for k, v in request.headers.items()},
            query=dict(request.query),
            body=request.body,
        )
        outcome = self.h.receive_webhook(channel, webhook)
        return pb.WebhookResponse(text=outcome.text, applied=outcome.applied, parked=outcome.parked)


def create_server(address: str, app: App, max_workers: int = 8) -> tuple[grpc.Server, int]:
    servicer = NotificationsServicer(app)
    server, port, _ = grpc_support.create_server(
        address,
        lambda s: pb_grpc.add_NotificationsServiceServicer_to_server(servicer, s),
        [SERVICE_FULL_NAME],
        max_workers=max_workers,
    )
    return server, port


def main() -> None:
    process.configure_logging()
    setup_tracing(SERVICE_NAME)
    app = bootstrap()
    address = f"{setting('GRPC_HOST', '127.0.0.1')}:{setting('NOTIFICATIONS_GRPC_PORT', '50054')}"
    server, port = create_server(address, app)
    sweeper = OutboxSweeper(app.relay)
    dispatcher = Dispatcher(app.handlers, workers=int_setting("NOTIFY_DISPATCH_WORKERS", 8))
    server.start()
    sweeper.start()
    dispatcher.start()
    log.info("notifications gRPC listening on port %d", port)
    with Connection(Infrastructure.from_env().amqp_uri, heartbeat=30) as connection:
        consumer = EventConsumer(
            connection,
            service=SERVICE_NAME,
            source="actas",
            event_type="acta_sealed",
            required="acta_id",
            handle=lambda payload: {"crm.notifications.queued": app.handlers.on_acta_sealed(payload).new},
            prefetch=8,
        )
        process.on_stop_signal(lambda: setattr(consumer, "should_stop", True))
        consumer.run()
    dispatcher.stop()
    sweeper.stopping.set()
    server.stop(grace=5).wait()
    app.close()
    shutdown_tracing()


if __name__ == "__main__":
    main()
