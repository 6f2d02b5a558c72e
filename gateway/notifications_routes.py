"""HTTP routes of notifications: ad-hoc sends (meeting reminders) and the delivery log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.proto_gen.crm.notifications.v1 import notifications_pb2 as npb
from gateway import auth, errors, schemas
from gateway import responses as R
from gateway.deps import Backend, User, to_json
from services.notifications.access import ACCESS as NOTIFICATIONS

API = "/api/v1"


def register(app: FastAPI, backend: Backend) -> None:
    N = backend.notifications

    @app.post(
        f"{API}/notifications", status_code=202, tags=["notifications"], response_model=R.SendOut, responses=R.WRITE
    )
    def send(body: schemas.NotificationIn, user: User) -> dict[str, Any]:
        """Queue one message per person; delivery is asynchronous (see the log)."""
        auth.require(user, NOTIFICATIONS, "Send")
        chosen = [
            name
            for name, value in (
                ("recipient_ids", body.recipient_ids),
                ("family_id", body.family_id),
                ("community_id", body.community_id),
            )
            if value
        ]
        if len(chosen) != 1:
            message = "Indique exactamente uno: recipient_ids, family_id o community_id"
            raise errors.ApiError(400, "Solicitud inválida", {"audience": message})
        request = npb.SendRequest(
            template=body.template,
            variables=body.variables,
            message_key_prefix=body.key,
        )
        if body.recipient_ids:
            request.recipients.CopyFrom(npb.RecipientIds(ids=body.recipient_ids))
        elif body.family_id:
            request.family_id = body.family_id
        else:
            request.community_id = body.community_id
        return to_json(backend.call(N.Send, request, user))

    @app.get(f"{API}/notifications", tags=["notifications"], response_model=R.NotificationsOut, responses=R.QUERY)
    def deliveries(
        user: User, recipient_id: str = "", trigger: str = "", status: str = "", limit: schemas.PageLimit = 50
    ) -> dict[str, Any]:
        """By person, by send (``trigger``: the key you sent with, or a full trigger such
        as ``acta:<id>`` or ``prestamo:<loan id>``), or ``status=failed|skipped``: what did not arrive."""
        auth.require(user, NOTIFICATIONS, "ListDeliveries")
        if sum(bool(x) for x in (recipient_id, trigger, status)) != 1:
            raise errors.ApiError(400, "Solicitud inválida", {"filter": "Indique recipient_id, trigger o status"})
        request = npb.ListDeliveriesRequest(limit=limit)
        if recipient_id:
            request.recipient_id = recipient_id
        elif trigger:
            request.trigger = trigger
        else:
            request.status = status
        return to_json(backend.call(N.ListDeliveries, request, user))

    @app.get(
        f"{API}/notification-counts",
        tags=["notifications"],
        response_model=R.DeliveryCountsOut,
        responses=R.QUERY,
    )
    def delivery_counts(created_from: datetime, user: User) -> dict[str, Any]:
        """How many messages created since ``created_from`` (ISO-8601) are in each status."""
        auth.require(user, NOTIFICATIONS, "CountDeliveries")
        since = Timestamp()
        since.FromDatetime(created_from if created_from.tzinfo else created_from.replace(tzinfo=UTC))
        reply = backend.call(N.CountDeliveries, npb.CountDeliveriesRequest(created_from=since), user)
        return {"by_status": {k: int(v) for k, v in reply.by_status.items()}}

    @app.get(
        f"{API}/notification-templates",
        tags=["notifications"],
        response_model=R.MessageTemplatesOut,
        responses=R.READ,
    )
    def message_templates(user: User) -> dict[str, Any]:
        """The templates a send may name, with the variables it must give."""
        auth.require(user, NOTIFICATIONS, "ListMessageTemplates")
        return to_json(backend.call(N.ListMessageTemplates, npb.ListMessageTemplatesRequest(), user))

    @app.get(
        f"{API}/notifications/{{message_key}}",
        tags=["notifications"],
        response_model=R.NotificationOut,
        responses=R.READ,
    )
    def notification(message_key: str, user: User) -> dict[str, Any]:
        auth.require(user, NOTIFICATIONS, "GetNotification")
        return to_json(backend.call(N.GetNotification, npb.GetNotificationRequest(message_key=message_key), user))
