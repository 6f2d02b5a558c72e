"""The notifications service process: ``crm-notifications``.

- consumes ``actas.acta_sealed`` (queue ``notifications.acta_sealed``) and queues
  one message per participant, and ``income.loan_repayment_due`` /
  ``income.loan_became_overdue`` (queues ``notifications.loan_repayment_due`` /
  ``notifications.loan_became_overdue``, one thread for the three) and queues the
  borrower's reminder or overdue notice; a message is acknowledged once the
  records are durable, so a crash never forgets a notification;
- the dispatcher thread sends what is due (retries included) and the outbox
  sweeper republishes events a crash or a broker outage left behind;
- serves gRPC (``NotificationsService``): ad-hoc sends, the delivery log and the
  providers' webhooks. Its errors are the platform's vocabulary, translated by the
  server's interceptor.

A plain kombu consumer rather than nameko, as in the documents service: channel
adapters block on HTTP and SMTP, which belongs in ordinary threads.
"""

from __future__ import annotations

from datetime import UTC

import grpc

from crm_platform.config import int_setting
from crm_platform.grpc_support import caller
from crm_platform.outbox import OutboxSweeper
from crm_platform.proto_gen.crm.notifications.v1 import notifications_pb2 as pb
from crm_platform.proto_gen.crm.notifications.v1 import notifications_pb2_grpc as pb_grpc
from crm_platform.service import GrpcEndpoint, Servicer, Subscription, run_service
from services.notifications.access import ACCESS
from services.notifications.bootstrap import SERVICE_NAME, App, bootstrap
from services.notifications.domain.model import ChannelName, Notification, WebhookRequest
from services.notifications.domain.templates import PER_RECIPIENT, TEMPLATES
from services.notifications.entrypoints.dispatcher import Dispatcher
from services.notifications.service_layer.handlers import Audience, NotFound, scoped_trigger

SERVICE_FULL_NAME = pb.DESCRIPTOR.services_by_name["NotificationsService"].full_name


# -- gRPC ----------------------------------------------------------------------------------
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

    def Send(self, request: pb.SendRequest, context: grpc.ServicerContext) -> pb.SendResponse:
        audience = Audience(
            recipient_ids=tuple(request.recipients.ids),
            family_id=request.family_id,
            community_id=request.community_id,
        )
        sender, _ = caller(context)
        queued = self.h.send(audience, request.template, dict(request.variables), request.message_key_prefix, sender)
        return pb.SendResponse(message_keys=queued.message_keys, queued=queued.new, trigger=queued.trigger)

    def GetNotification(self, request: pb.GetNotificationRequest, context: grpc.ServicerContext) -> pb.Notification:
        return to_pb(self.h.notification(request.message_key))

    def ListDeliveries(
        self, request: pb.ListDeliveriesRequest, context: grpc.ServicerContext
    ) -> pb.ListDeliveriesResponse:
        trigger = scoped_trigger(caller(context)[0], request.trigger) if request.trigger else ""
        found = self.h.deliveries(
            recipient_id=request.recipient_id, trigger=trigger, status=request.status, limit=request.limit
        )
        return pb.ListDeliveriesResponse(notifications=[to_pb(n) for n in found])

    def ListMessageTemplates(
        self, request: pb.ListMessageTemplatesRequest, context: grpc.ServicerContext
    ) -> pb.ListMessageTemplatesResponse:
        return pb.ListMessageTemplatesResponse(
            templates=[
                pb.MessageTemplate(
                    name=t.name,
                    variables=t.variables,
                    per_recipient=[v for v in t.variables if v in PER_RECIPIENT],
                    subject=t.subject,
                    body=t.body,
                    whatsapp_template=t.whatsapp_template,
                )
                for t in TEMPLATES.values()
            ]
        )

    def CountDeliveries(
        self, request: pb.CountDeliveriesRequest, context: grpc.ServicerContext
    ) -> pb.CountDeliveriesResponse:
        since = request.created_from.ToDatetime(tzinfo=UTC) if request.HasField("created_from") else None
        return pb.CountDeliveriesResponse(by_status=self.h.counts_since(since))

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


def endpoint(app: App) -> GrpcEndpoint:
    servicer = Servicer(
        NotificationsServicer(app), pb_grpc.add_NotificationsServiceServicer_to_server, SERVICE_FULL_NAME, ACCESS
    )
    return GrpcEndpoint("NOTIFICATIONS_GRPC_PORT", 50054, [servicer], max_workers=8)


def subscriptions(app: App) -> list[Subscription]:
    h = app.handlers
    return [
        Subscription(
            "actas",
            "acta_sealed",
            "acta_id",
            lambda e: {"crm.notifications.queued": h.on_acta_sealed(e).new},
            prefetch=8,
        ),
        Subscription(
            "income",
            "loan_repayment_due",
            "loan_id",
            lambda e: {"crm.notifications.queued": h.on_loan_repayment_due(e).new},
            prefetch=8,
        ),
        Subscription(
            "income",
            "loan_became_overdue",
            "loan_id",
            lambda e: {"crm.notifications.queued": h.on_loan_became_overdue(e).new},
            prefetch=8,
        ),
    ]


def main() -> None:
    run_service(
        SERVICE_NAME,
        bootstrap,
        grpc=endpoint,
        background=lambda app: [
            OutboxSweeper(app.relay),
            Dispatcher(app.handlers, workers=int_setting("NOTIFY_DISPATCH_WORKERS", 8)),
        ],
        subscription=subscriptions,
    )


if __name__ == "__main__":
    main()
