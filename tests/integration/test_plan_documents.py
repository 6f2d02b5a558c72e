"""The action plan's signed PDF ("Plan de Acción") on the running stack: approving a
plan version in the income service makes the documents service store one PAdES
signed PDF under ``planes/{unit_id}/v{version}.pdf``; a redelivered approval adds
nothing; none exists before approval."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from kombu import Connection, Producer
from minio import Minio
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from crm_platform.messaging import events_exchange
from crm_platform.proto_gen.crm.documents.v1 import documents_pb2 as dpb
from crm_platform.proto_gen.crm.documents.v1 import documents_pb2_grpc as dpb_grpc
from crm_platform.proto_gen.crm.income.v1 import income_pb2 as ipb
from crm_platform.proto_gen.crm.income.v1 import income_pb2_grpc as ipb_grpc
from devstack.infra import Stack
from services.income.domain.finance_math import analyse
from services.income.domain.money import format_cop
from services.income.domain.plan_io import content_to_mapping
from tests.helpers import COORDINATOR, GESTOR, eventually
from tests.unit.income_builders import content, model

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def income(stack: Stack) -> Iterator[ipb_grpc.IncomeServiceStub]:
    channel = grpc.insecure_channel(stack.env["INCOME_GRPC"])
    yield ipb_grpc.IncomeServiceStub(channel)
    channel.close()


@pytest.fixture(scope="module")
def documents(stack: Stack) -> Iterator[dpb_grpc.DocumentsServiceStub]:
    channel = grpc.insecure_channel(stack.env["DOCUMENTS_GRPC"])
    yield dpb_grpc.DocumentsServiceStub(channel)
    channel.close()


def approved_unit(income: ipb_grpc.IncomeServiceStub, family: Any, owner: Any) -> ipb.ProductiveUnit:
    """A UP whose plan version 1 is drafted by a gestor and approved by a coordinator."""
    unit = income.RegisterUnit(
        ipb.RegisterUnitRequest(
            name=f"Panadería {uuid.uuid4().hex[:4]}", family_id=family.id, owner_ids=[owner.id],
            community_id=family.community_id, sector="agroindustria", kind="emprendimiento",
        ),
        metadata=GESTOR,
    )  # fmt: skip
    plan_json = json.dumps(content_to_mapping(content()))
    draft = income.SavePlan(ipb.SavePlanRequest(unit_id=unit.id, content_json=plan_json), metadata=GESTOR)
    sent = income.SubmitPlan(
        ipb.PlanDecisionRequest(unit_id=unit.id, expected_revision=draft.revision), metadata=GESTOR
    )
    income.ApprovePlan(ipb.PlanDecisionRequest(unit_id=unit.id, expected_revision=sent.revision), metadata=COORDINATOR)
    return unit


def plan_document(documents: dpb_grpc.DocumentsServiceStub, unit_id: str, version: int = 1) -> Any:
    """The plan version's document once stored, else None."""
    try:
        found = documents.GetPlanDocument(
            dpb.GetPlanDocumentRequest(unit_id=unit_id, plan_version=version), metadata=GESTOR
        )
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise
    return found if found.status == "stored" else None


def stored_keys(stack: Stack, unit_id: str) -> list[str]:
    client = Minio(
        stack.env["S3_ENDPOINT"], access_key=stack.env["S3_ACCESS_KEY"], secret_key=stack.env["S3_SECRET_KEY"],
        secure=False,
    )  # fmt: skip
    return [
        str(o.object_name) for o in client.list_objects("crm-documents", prefix=f"planes/{unit_id}/", recursive=True)
    ]


def test_no_document_before_approval_then_one_signed_pdf_under_its_key(
    stack: Stack, income: Any, documents: Any, beneficiaries: Any, family: Any, signer: Any
) -> None:
    unit = income.RegisterUnit(
        ipb.RegisterUnitRequest(
            name="Sin aprobar", family_id=family.id, owner_ids=[signer.id], community_id=family.community_id,
            sector="agroindustria", kind="emprendimiento",
        ),
        metadata=GESTOR,
    )  # fmt: skip
    with pytest.raises(grpc.RpcError) as missing:
        documents.GetPlanDocument(dpb.GetPlanDocumentRequest(unit_id=unit.id, plan_version=1), metadata=GESTOR)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND and "aprobada" in (missing.value.details() or "")

    approved = approved_unit(income, family, signer)
    document = eventually(lambda: plan_document(documents, approved.id), timeout=30)
    assert document.pades_signed and document.plan_version == 1
    assert stored_keys(stack, approved.id) == [f"planes/{approved.id}/v1.pdf"]

    pdf = httpx.get(document.download_url, timeout=10).content
    assert hashlib.sha256(pdf).hexdigest() == document.sha256 and len(pdf) == document.size_bytes
    text = " ".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Plan de Acción" in text and approved.name in text and "Hogar Prueba" in text
    assert f"{signer.first_names} {signer.last_names}" in text  # the owner by name (beneficiaries)
    assert f"Valor presente neto (VPN) {format_cop(analyse(model()).npv)}" in text
    assert "coordinadora.test" in text and "Resultado: Viable" in text

    (cert_file,) = (Path(stack.var_dir) / "documents-identity").glob("*cert*.pem")
    (embedded,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    status = validate_pdf_signature(
        embedded, ValidationContext(trust_roots=[load_cert_from_pemder(str(cert_file))], allow_fetching=False)
    )
    assert status.intact and status.valid and status.trusted


def test_a_redelivered_approval_creates_no_second_document(
    stack: Stack, income: Any, documents: Any, family: Any, signer: Any
) -> None:
    unit = approved_unit(income, family, signer)
    first = eventually(lambda: plan_document(documents, unit.id), timeout=30)
    with Connection(stack.env["AMQP_URI"], transport_options={"confirm_publish": True}) as conn:
        Producer(conn.default_channel).publish(
            # The same approval again; no household or owners, so no timeline acts on it.
            {
                "event_id": uuid.uuid4().hex, "unit_id": unit.id, "unit_name": unit.name, "family_id": "",
                "owner_ids": [], "plan_version": 1, "viable": True, "occurred_at": "2026-12-06T10:00:00+00:00",
                "by": "coordinadora.test",
            },
            exchange=events_exchange("income"),
            routing_key="action_plan_approved",
            serializer="json",
            delivery_mode=2,
        )  # fmt: skip
    # Let the consumer handle it (its queue is in order), then check nothing changed.
    marker = approved_unit(income, family, signer)
    eventually(lambda: plan_document(documents, marker.id), timeout=30)
    again = plan_document(documents, unit.id)
    assert again is not None
    assert (again.sha256, again.attempts, again.stored_at) == (first.sha256, first.attempts, first.stored_at)
    assert stored_keys(stack, unit.id) == [f"planes/{unit.id}/v1.pdf"]
