"""The error vocabulary through the gRPC server interceptor: status code, message
and field details, for the kit's errors and for the beneficiaries domain errors
that are made of them."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from crm_platform import errors
from crm_platform.grpc_support import ErrorInterceptor
from services.beneficiaries.domain import errors as beneficiaries


class Aborted(Exception):
    pass


class FakeContext:
    status: Any = None

    def abort_with_status(self, status: Any) -> None:
        self.status = status
        raise Aborted


def served(error: Exception) -> tuple[grpc.StatusCode, str, dict[str, str]]:
    """Run a unary method raising ``error`` through the interceptor: its code,
    message and BadRequest field violations."""

    def behaviour(request: Any, context: Any) -> Any:
        raise error

    handler = grpc.unary_unary_rpc_method_handler(behaviour)
    intercepted = ErrorInterceptor().intercept_service(lambda _: handler, None)
    context = FakeContext()
    with pytest.raises(Aborted):
        intercepted.unary_unary(object(), context)
    status = context.status
    fields: dict[str, str] = {}
    for key, value in status.trailing_metadata:
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                fields.update({v.field: v.description for v in bad.field_violations})
    return status.code, status.details, fields


def test_every_error_may_name_fields_and_none_does_by_default() -> None:
    assert errors.NotFound("x").fields == {}
    assert errors.AlreadyExists("Ya existe", fields={"email": "Ya existe"}).fields == {"email": "Ya existe"}
    invalid = errors.InvalidArgument({"a": "falta"})
    assert invalid.fields == {"a": "falta"} and str(invalid) == "a: falta"


def test_field_details_travel_with_any_status_code() -> None:
    assert served(errors.InvalidArgument({"a": "falta"})) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "a: falta",
        {"a": "falta"},
    )
    assert served(errors.AlreadyExists("Ya existe", fields={"email": "Ya existe"})) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "Ya existe",
        {"email": "Ya existe"},
    )
    assert served(errors.NotFound("No existe")) == (grpc.StatusCode.NOT_FOUND, "No existe", {})


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            beneficiaries.ValidationFailed({"sex": "Use F, M o X"}),
            (grpc.StatusCode.INVALID_ARGUMENT, "Datos inválidos: sex: Use F, M o X", {"sex": "Use F, M o X"}),
        ),
        (
            beneficiaries.NotFound("hogar", "fam-1"),
            (grpc.StatusCode.NOT_FOUND, "No existe hogar con identificador 'fam-1'", {}),
        ),
        (
            beneficiaries.AlreadyExists("national_id", "Ya existe un beneficiario con CC 1"),
            (
                grpc.StatusCode.ALREADY_EXISTS,
                "Ya existe un beneficiario con CC 1",
                {"national_id": "Ya existe un beneficiario con CC 1"},
            ),
        ),
        (
            beneficiaries.Conflict("El hogar ya tiene jefe de hogar", field="relationship"),
            (
                grpc.StatusCode.FAILED_PRECONDITION,
                "El hogar ya tiene jefe de hogar",
                {"relationship": "El hogar ya tiene jefe de hogar"},
            ),
        ),
        (
            beneficiaries.Conflict("La persona ya pertenece a ese hogar"),
            (grpc.StatusCode.FAILED_PRECONDITION, "La persona ya pertenece a ese hogar", {}),
        ),
        (
            beneficiaries.PermissionDenied("Solo un quiosco"),
            (grpc.StatusCode.PERMISSION_DENIED, "Solo un quiosco", {}),
        ),
    ],
)
def test_beneficiaries_errors_keep_their_status_message_and_fields(
    error: Exception, expected: tuple[grpc.StatusCode, str, dict[str, str]]
) -> None:
    assert isinstance(error, beneficiaries.DomainError)
    assert served(error) == expected


def test_beneficiaries_errors_keep_their_attributes() -> None:
    invalid = beneficiaries.ValidationFailed({"sex": "Use F, M o X"})
    assert invalid.errors == {"sex": "Use F, M o X"} and invalid.message == str(invalid)
    assert invalid.args == (str(invalid),)  # what nameko sends back to an RPC caller
    assert beneficiaries.AlreadyExists("national_id", "Ya existe").field == "national_id"
    assert beneficiaries.Conflict("Cambió").field is None
    missing = beneficiaries.NotFound("hogar", "fam-1")
    assert (missing.entity, missing.ident) == ("hogar", "fam-1")


def test_an_error_outside_the_vocabulary_is_left_to_grpc() -> None:
    def behaviour(request: Any, context: Any) -> Any:
        raise RuntimeError("boom")

    handler = grpc.unary_unary_rpc_method_handler(behaviour)
    intercepted = ErrorInterceptor().intercept_service(lambda _: handler, None)
    with pytest.raises(RuntimeError):
        intercepted.unary_unary(object(), FakeContext())
