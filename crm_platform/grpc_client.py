"""Calling another service over gRPC: one way for every service and the gateway.

``traced_channel`` is the only way to open a channel: round_robin over every
address the target resolves to (a headless Service on Kubernetes), and the
OpenTelemetry client interceptor, so a trace continues across the hop.
``ServiceClient`` is the base of every service-to-service client: it attaches the
caller assertion (``x-crm-caller``, signed) and a deadline to each call, and turns
a failed call into the error vocabulary (``crm_platform.errors``), so an adapter
catches ``NotFound`` or ``Unavailable`` rather than status codes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from crm_platform import errors
from crm_platform.grpc_support import MAX_MESSAGE_BYTES, caller_metadata, field_errors

Stub = TypeVar("Stub")

# Status codes of a dependency that did not answer: the call may succeed later.
_UNAVAILABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.CANCELLED,
}
_BY_CODE: dict[grpc.StatusCode, type[errors.ServiceError]] = {
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.ALREADY_EXISTS: errors.AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
    grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: errors.Unauthenticated,
    grpc.StatusCode.ABORTED: errors.Aborted,
}


def channel_options() -> list[tuple[str, Any]]:
    """round_robin, and message sizes that fit the largest attachment (as the servers')."""
    return [
        ("grpc.lb_policy_name", "round_robin"),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ]


def traced_channel(target: str) -> grpc.Channel:
    from opentelemetry.instrumentation.grpc import client_interceptor, grpcext

    channel = grpc.insecure_channel(target, options=channel_options())
    return grpcext.intercept_channel(channel, client_interceptor())


def service_error(exc: grpc.RpcError) -> errors.ServiceError:
    """The vocabulary's error for a failed call (``Unavailable`` when it did not answer)."""
    code, message = exc.code(), exc.details() or ""
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return errors.InvalidArgument(field_errors(exc), message)
    if code in _UNAVAILABLE:
        return errors.Unavailable(f"{code.name}: {message}")
    return _BY_CODE.get(code, errors.Unavailable)(message)


class ServiceClient:
    """A client of another service, calling as ``subject`` with ``role``.

    Subclasses pass the generated stub class and write one method per call they
    need, each through ``call``."""

    timeout_seconds = 5.0

    def __init__(self, target: str, stub: Callable[[grpc.Channel], Stub], subject: str, role: str = "service") -> None:
        self._channel = traced_channel(target)
        self.stub: Any = stub(self._channel)
        self._subject, self._role = subject, role

    def call(self, method: Callable[..., Any], request: Any, timeout: float | None = None) -> Any:
        """``method(request)`` with the caller assertion and a deadline; raises the
        vocabulary's error (``NotFound``, ``Unavailable``...) on failure."""
        try:
            return method(
                request,
                metadata=caller_metadata(self._subject, self._role),
                timeout=timeout or self.timeout_seconds,
            )
        except grpc.RpcError as exc:
            raise service_error(exc) from exc

    def close(self) -> None:
        self._channel.close()
