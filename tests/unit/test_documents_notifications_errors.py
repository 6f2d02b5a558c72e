"""The errors the documents and notifications servers raise are the platform's
vocabulary: each keeps the status code, message and field details its servicer's
own translation used to give it."""

from __future__ import annotations

import grpc
import pytest

from crm_platform import errors
from crm_platform.grpc_support import status_of
from services.documents.service_layer.handlers import InvalidAttachment
from services.documents.service_layer.handlers import NotFound as DocumentNotFound
from services.notifications.domain.model import WebhookMalformed, WebhookRejected
from services.notifications.service_layer.handlers import InvalidRequest, ReportConflict
from services.notifications.service_layer.handlers import NotFound as NotificationNotFound
from services.notifications.service_layer.ports import DirectoryUnavailable


@pytest.mark.parametrize(
    ("error", "code", "message", "fields"),
    [
        (DocumentNotFound("No existe el adjunto 'x'"), grpc.StatusCode.NOT_FOUND, "No existe el adjunto 'x'", {}),
        (
            InvalidAttachment("El adjunto debe tener entre 1 byte y 10 MB"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "El adjunto debe tener entre 1 byte y 10 MB",
            {"content": "El adjunto debe tener entre 1 byte y 10 MB"},
        ),
        (
            InvalidRequest({"template": "falta", "audience": "vacía"}),
            grpc.StatusCode.INVALID_ARGUMENT,
            "template: falta; audience: vacía",
            {"template": "falta", "audience": "vacía"},
        ),
        (NotificationNotFound("No existe el hogar f1"), grpc.StatusCode.NOT_FOUND, "No existe el hogar f1", {}),
        (DirectoryUnavailable("sin respuesta"), grpc.StatusCode.UNAVAILABLE, "sin respuesta", {}),
        (ReportConflict("cambió 5 veces"), grpc.StatusCode.UNAVAILABLE, "cambió 5 veces", {}),
        (
            WebhookRejected("sms: missing x-twilio-signature"),
            grpc.StatusCode.PERMISSION_DENIED,
            "Webhook rechazado: sms: missing x-twilio-signature",
            {},
        ),
        (
            WebhookMalformed("whatsapp: the webhook body is not JSON"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "Webhook ilegible: whatsapp: the webhook body is not JSON",
            {},
        ),
    ],
)
def test_each_error_keeps_its_status_message_and_fields(
    error: errors.ServiceError, code: grpc.StatusCode, message: str, fields: dict[str, str]
) -> None:
    assert isinstance(error, errors.ServiceError)
    assert (status_of(error), str(error), getattr(error, "fields", {})) == (code, message, fields)


def test_a_webhook_error_still_names_the_channels_reason() -> None:
    assert WebhookRejected("bad signature").reason == "bad signature"
    assert WebhookMalformed("not JSON").reason == "not JSON"
