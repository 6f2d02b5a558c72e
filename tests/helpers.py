"""Helpers shared by the integration and end-to-end tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar, overload

from crm_platform.grpc_support import caller_metadata
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from devstack.infra import Stack

T = TypeVar("T")


class Caller(Sequence[tuple[str, str]]):
    """gRPC metadata naming a caller, signed afresh when a call reads it: an assertion
    lives 15 minutes (``crm_platform.identity``), less than a whole test session, so a
    module-level constant signed at collection would expire before the last tests."""

    def __init__(self, subject: str, role: str) -> None:
        self.subject, self.role = subject, role

    def _now(self) -> list[tuple[str, str]]:
        return caller_metadata(self.subject, self.role)

    @overload
    def __getitem__(self, index: int) -> tuple[str, str]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[str, str]]: ...
    def __getitem__(self, index: int | slice) -> tuple[str, str] | Sequence[tuple[str, str]]:
        return self._now()[index]

    def __len__(self) -> int:
        return len(self._now())

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._now())


GESTOR = Caller("gestor.test", "gestor")
COORDINATOR = Caller("coordinadora.test", "coordinator")
KIOSK = Caller("kiosk-001", "kiosk")

_counter = iter(range(10**6))


def unique_cc() -> str:
    """A valid, unique cédula number for this test session."""
    return str(1_000_000_000 + (uuid.uuid4().int % 900_000_000) // 1000 * 1000 + next(_counter) % 1000)


def person_request(**overrides: object) -> pb.RegisterBeneficiaryRequest:
    fields: dict[str, object] = {
        "national_id": pb.NationalId(type="CC", number=unique_cc()),
        "first_names": "María José",
        "last_names": "Peña Epiayú",
        "birth_date": "1985-04-12",
        "sex": "female",
    }
    fields.update(overrides)
    return pb.RegisterBeneficiaryRequest(**fields)  # type: ignore[arg-type]


def eventually(check: Callable[[], T], timeout: float = 15.0, interval: float = 0.2) -> T:
    """Poll ``check`` until it returns a truthy value (events are asynchronous)."""
    deadline = time.monotonic() + timeout
    last: T = check()
    while not last and time.monotonic() < deadline:
        time.sleep(interval)
        last = check()
    assert last, f"condition not met within {timeout}s"
    return last


def traces_dir(stack: Stack) -> Path:
    return Path(stack.env["OTEL_TRACES_DIR"])
