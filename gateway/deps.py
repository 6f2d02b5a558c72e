"""What every route needs: the gRPC backend, the authenticated user, JSON of a message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import grpc
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from opentelemetry.instrumentation.grpc import client_interceptor, grpcext

from crm_platform.grpc_client import channel_options
from crm_platform.grpc_support import caller_metadata
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2_grpc
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2_grpc as pb_grpc
from crm_platform.proto_gen.crm.documents.v1 import documents_pb2_grpc
from crm_platform.proto_gen.crm.income.v1 import income_pb2_grpc, loans_pb2_grpc
from crm_platform.proto_gen.crm.notifications.v1 import notifications_pb2_grpc
from crm_platform.proto_gen.crm.reports.v1 import reports_pb2_grpc
from gateway import auth, errors
from gateway.config import GatewaySettings


def _channel(target: str) -> grpc.Channel:
    # round_robin spreads calls over every address the target resolves to
    # (a headless Service on Kubernetes), instead of pinning one pod; message
    # sizes fit the largest attachment (crm_platform.limits).
    return grpcext.intercept_channel(grpc.insecure_channel(target, options=channel_options()), client_interceptor())


class Backend:
    """gRPC stubs plus the caller's identity, attached to every call."""

    def __init__(self, settings: GatewaySettings) -> None:
        targets = (
            settings.beneficiaries_grpc,
            settings.actas_grpc,
            settings.documents_grpc,
            settings.notifications_grpc,
            settings.reports_grpc,
            settings.income_grpc,
        )
        self.channels = [_channel(t) for t in targets]
        self.beneficiaries = pb_grpc.BeneficiariesServiceStub(self.channels[0])
        self.actas = actas_pb2_grpc.ActasServiceStub(self.channels[1])
        self.documents = documents_pb2_grpc.DocumentsServiceStub(self.channels[2])
        self.notifications = notifications_pb2_grpc.NotificationsServiceStub(self.channels[3])
        self.reports = reports_pb2_grpc.ReportsServiceStub(self.channels[4])
        self.income = income_pb2_grpc.IncomeServiceStub(self.channels[5])
        self.loans = loans_pb2_grpc.LoansServiceStub(self.channels[5])  # served by crm-income too
        self.timeout = settings.grpc_timeout_seconds

    def call(self, method: Callable[..., Any], request: Message, user: auth.User) -> Any:
        return method(request, metadata=caller_metadata(user.username, user.role), timeout=self.timeout)

    def close(self) -> None:
        for channel in self.channels:
            channel.close()


# The OpenAPI's security scheme (the "Authorize" button of /docs); a missing or
# malformed header is answered here, in Spanish, not by FastAPI.
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="El access_token de POST /api/v1/auth/login (personas) o POST /api/v1/kiosk/session (quioscos).",
)


def current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> auth.User:
    if credentials is None or not credentials.credentials:
        raise errors.ApiError(401, "Falta el token de acceso (Authorization: Bearer ...)")
    tokens: auth.Tokens = request.app.state.tokens
    return tokens.verify(credentials.credentials)


User = Annotated[auth.User, Depends(current_user)]


def to_json(message: Message) -> dict[str, Any]:
    """The message as JSON, every field present, numbers as JSON numbers (the
    protobuf JSON mapping writes 64-bit integers as strings)."""
    data = MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    _int64_as_numbers(message.DESCRIPTOR, data)
    return data


_INT64 = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64,
}


def _int64_as_numbers(descriptor: Any, data: dict[str, Any]) -> None:
    if descriptor.full_name.startswith("google.protobuf."):
        return  # well-known types (Timestamp, Struct...) have their own JSON form
    for field in descriptor.fields:
        if field.name not in data:
            continue
        value = data[field.name]
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            for key, item in value.items():
                value[key] = _convert(value_field, item)
        elif field.is_repeated:
            data[field.name] = [_convert(field, item) for item in value]
        else:
            data[field.name] = _convert(field, value)


def _convert(field: FieldDescriptor, value: Any) -> Any:
    if field.type in _INT64 and isinstance(value, str):
        return int(value)
    if field.message_type is not None and isinstance(value, dict):
        _int64_as_numbers(field.message_type, value)
    return value
