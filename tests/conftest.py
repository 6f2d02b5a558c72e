"""Fixtures shared by the integration and end-to-end tiers.

``stack`` starts the real local infrastructure (RabbitMQ on a fresh vhost,
SecantusDB, SeaweedFS) and the project's processes once per test session, and
stops every process at the end. Unit tests never request it.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator

import grpc
import pytest

from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2_grpc as pb_grpc
from devstack.infra import ROOT, Stack, start_stack
from tests.helpers import COORDINATOR, GESTOR


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    var_dir = ROOT / "var" / f"test-{uuid.uuid4().hex[:8]}"
    running = start_stack(var_dir, isolated_vhost=True)
    try:
        yield running
    finally:
        running.stop()
        shutil.rmtree(var_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def grpc_channel(stack: Stack) -> Iterator[grpc.Channel]:
    channel = grpc.insecure_channel(stack.env["BENEFICIARIES_GRPC"])
    yield channel
    channel.close()


@pytest.fixture(scope="session")
def beneficiaries(grpc_channel: grpc.Channel) -> pb_grpc.BeneficiariesServiceStub:
    return pb_grpc.BeneficiariesServiceStub(grpc_channel)


@pytest.fixture
def community(beneficiaries: pb_grpc.BeneficiariesServiceStub) -> pb.Community:
    return beneficiaries.RegisterCommunity(
        pb.RegisterCommunityRequest(
            name=f"Comunidad {uuid.uuid4().hex[:6]}", municipality="Barrancas", department="La Guajira"
        ),
        metadata=COORDINATOR,  # communities are registered by admins and coordinators
    )


@pytest.fixture
def family(beneficiaries: pb_grpc.BeneficiariesServiceStub, community: pb.Community) -> pb.Family:
    return beneficiaries.RegisterFamily(
        pb.RegisterFamilyRequest(community_id=community.id, name="Hogar Prueba", address="Lote 1"),
        metadata=GESTOR,
    )
