"""Fixtures of the integration tier shared by several modules."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from crm_platform.proto_gen.crm.actas.v1 import actas_pb2_grpc as apb_grpc
from devstack.infra import Stack
from tests.helpers import GESTOR, person_request


@pytest.fixture(scope="module")
def actas(stack: Stack) -> Iterator[apb_grpc.ActasServiceStub]:
    channel = grpc.insecure_channel(stack.env["ACTAS_GRPC"])
    yield apb_grpc.ActasServiceStub(channel)
    channel.close()


@pytest.fixture
def signer(beneficiaries, family):
    """The head of ``family``, who signs the actas under test."""
    return beneficiaries.RegisterBeneficiary(person_request(family_id=family.id, relationship="head"), metadata=GESTOR)
