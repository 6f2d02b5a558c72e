"""gRPC helpers: servers with health checking, reflection and tracing; caller
identity as a signed assertion in metadata; rich errors (``google.rpc.BadRequest``
field violations).

Callers attach ``x-crm-caller``, a signed assertion (``crm_platform.identity``);
``CallerAuthInterceptor`` verifies it before any servicer method runs, and
``AccessInterceptor`` refuses the call unless the service's access table
(``crm_platform.access``) lets the caller's role call the method.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status

from crm_platform import access, errors
from crm_platform.identity import InvalidCaller, assert_caller, verify_caller
from crm_platform.limits import MAX_GRPC_MESSAGE_BYTES

CALLER_HEADER = "x-crm-caller"
# The largest attachment plus overhead (crm_platform.limits); clients use the same.
MAX_MESSAGE_BYTES = MAX_GRPC_MESSAGE_BYTES


def create_server(
    address: str,
    register: Callable[[grpc.Server], None],
    service_names: Sequence[str],
    *,
    max_workers: int = 16,
    interceptors: Iterable[grpc.ServerInterceptor] = (),
    access_tables: Mapping[str, access.AccessTable] | None = None,
) -> tuple[grpc.Server, int, health.HealthServicer]:
    """A server bound to ``address`` (port 0 picks a free one), returning the
    actual port, with health checking and reflection for ``service_names``.
    ``access_tables`` maps a service's full name to its access table, enforced on
    every call to it (``AccessInterceptor``)."""
    from opentelemetry.instrumentation.grpc import server_interceptor

    checks = [AccessInterceptor(access_tables)] if access_tables else []
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers),
        interceptors=[
            server_interceptor(),
            CallerAuthInterceptor(service_names),
            ErrorInterceptor(),
            *checks,
            *interceptors,
        ],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
    )
    register(server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in service_names:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection([*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"could not bind gRPC server to {address}")
    return server, port, health_servicer


def caller_metadata(subject: str, role: str) -> list[tuple[str, str]]:
    """Metadata naming the caller, signed (see ``crm_platform.identity``)."""
    return [(CALLER_HEADER, assert_caller(subject, role))]


_current_caller: contextvars.ContextVar[tuple[str, str]] = contextvars.ContextVar("crm_caller")


class CallerAuthInterceptor(grpc.ServerInterceptor):
    """Verifies the caller assertion of every unary call to ``protected`` services
    before the servicer runs; ``current_caller()`` then returns it."""

    def __init__(self, protected: Sequence[str]) -> None:
        self._prefixes = tuple(f"/{name}/" for name in protected)

    def intercept_service(self, continuation: Callable[..., Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None or handler.unary_unary is None or not details.method.startswith(self._prefixes):
            return handler
        behaviour = handler.unary_unary

        def verified(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                identity = caller(context)
            except InvalidCaller as exc:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
            token = _current_caller.set(identity)
            try:
                return behaviour(request, context)
            finally:
                _current_caller.reset(token)

        return grpc.unary_unary_rpc_method_handler(
            verified,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class AccessInterceptor(grpc.ServerInterceptor):
    """Enforces each service's access table: a unary call to a method of a service
    in ``tables`` (full service name -> table) runs only if the verified caller's
    role is among the roles the table gives that method, else ``PERMISSION_DENIED``
    before any servicer code. A method its table does not name is refused to all.

    It runs inside ``CallerAuthInterceptor`` (the caller is verified by then) and
    inside ``ErrorInterceptor`` (which translates the refusal)."""

    def __init__(self, tables: Mapping[str, access.AccessTable]) -> None:
        self._tables = {f"/{name}": table for name, table in tables.items()}

    def intercept_service(self, continuation: Callable[..., Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        service, _, operation = details.method.rpartition("/")
        table = self._tables.get(service)
        if table is None:
            return handler
        behaviour = handler.unary_unary

        def checked(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                _, role = current_caller()
            except LookupError:  # not verified: never reached behind CallerAuthInterceptor
                raise errors.Unauthenticated("Falta la identidad de quien llama") from None
            access.check(table, role, operation)
            return behaviour(request, context)

        return grpc.unary_unary_rpc_method_handler(
            checked,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


# The vocabulary's errors as status codes: the one translation of every server.
STATUS_OF: dict[type[errors.ServiceError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
    errors.Aborted: grpc.StatusCode.ABORTED,
}


def status_of(error: errors.ServiceError) -> grpc.StatusCode:
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return grpc.StatusCode.INTERNAL


class ErrorInterceptor(grpc.ServerInterceptor):
    """Ends a unary call that raised one of the vocabulary's errors
    (``crm_platform.errors``) with its status code, and, when the error names
    fields (always for ``InvalidArgument``), a ``BadRequest`` naming each one.
    Anything else stays a server error."""

    def intercept_service(self, continuation: Callable[..., Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        behaviour = handler.unary_unary

        def translated(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                return behaviour(request, context)
            except errors.ServiceError as exc:
                abort(context, status_of(exc), str(exc), getattr(exc, "fields", None))
                return None  # unreachable: abort raises

        return grpc.unary_unary_rpc_method_handler(
            translated,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def current_caller() -> tuple[str, str]:
    """The verified (subject, role) of the call being served."""
    return _current_caller.get()


def caller(context: grpc.ServicerContext) -> tuple[str, str]:
    """(subject, role) from the call's verified caller assertion."""
    return verify_caller(dict(context.invocation_metadata()).get(CALLER_HEADER))


def abort(
    context: grpc.ServicerContext,
    code: grpc.StatusCode,
    message: str,
    field_errors: Mapping[str, str] | None = None,
) -> None:
    """End the call with ``code``; field errors travel as a BadRequest detail."""
    status = status_pb2.Status(code=_RPC_CODES[code], message=message)
    if field_errors:
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in field_errors.items()
                ]
            )
        )
        status.details.append(detail)
    context.abort_with_status(rpc_status.to_status(status))


def field_errors(error: grpc.RpcError) -> dict[str, str]:
    """Client side: the field violations of a failed call, if any."""
    status = rpc_status.from_call(error)
    found: dict[str, str] = {}
    if status is None:
        return found
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found.update({v.field: v.description for v in bad.field_violations})
    return found


_RPC_CODES: dict[Any, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: code_pb2.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND: code_pb2.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS: code_pb2.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION: code_pb2.FAILED_PRECONDITION,
    grpc.StatusCode.PERMISSION_DENIED: code_pb2.PERMISSION_DENIED,
    grpc.StatusCode.UNAUTHENTICATED: code_pb2.UNAUTHENTICATED,
    grpc.StatusCode.ABORTED: code_pb2.ABORTED,
    grpc.StatusCode.INTERNAL: code_pb2.INTERNAL,
    grpc.StatusCode.UNAVAILABLE: code_pb2.UNAVAILABLE,
}
