"""The income service (gRPC) as the source of what an action plan's PDF shows:
the approved plan version and its UP, with the names the beneficiaries service
gives the owners, the household and the community, flattened into a ``PlanView``.

Both calls are made as the documents service (the SERVICE role). A failed call
raises the platform's error (``NotFound``, ``Unavailable``...); the use cases
record it and retry later."""

from __future__ import annotations

import functools
import json
from datetime import UTC

from crm_platform.grpc_client import ServiceClient
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as bpb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2_grpc as bpb_grpc
from crm_platform.proto_gen.crm.income.v1 import income_pb2 as ipb
from crm_platform.proto_gen.crm.income.v1 import income_pb2_grpc as ipb_grpc
from services.documents.domain.errors import DocumentsError
from services.documents.domain.plan_view import PlanView, VerdictView
from services.income.domain.plan_io import content_from_mapping

SERVICE_SUBJECT = "documents"
SERVICE_ROLE = "service"
TIMEOUT_SECONDS = 10.0
KINDS = {"emprendimiento": "Emprendimiento", "fortalecimiento": "Fortalecimiento"}


class PlanNotApproved(DocumentsError):
    """Only approved plan versions get a document."""


class GrpcPlanSource:
    def __init__(self, income_target: str, beneficiaries_target: str) -> None:
        self.income = _Client(income_target, ipb_grpc.IncomeServiceStub)
        self.people = _Client(beneficiaries_target, bpb_grpc.BeneficiariesServiceStub)

    def close(self) -> None:
        self.income.close()
        self.people.close()

    def view(self, unit_id: str, version: int) -> PlanView:
        plan = self.income.call(self.income.stub.GetPlan, ipb.GetPlanRequest(unit_id=unit_id, version=version))
        if plan.version != version or plan.status != "approved":
            raise PlanNotApproved(f"plan {unit_id} v{version} is {plan.status!r} (v{plan.version}), not approved")
        unit = self.income.call(self.income.stub.GetUnit, ipb.GetUnitRequest(id=unit_id))
        names = self.people.call(
            self.people.stub.LookupNames,
            bpb.LookupNamesRequest(beneficiary_ids=list(unit.owner_ids), family_ids=[unit.family_id]),
        )
        approval = next((c for c in reversed(plan.history) if c.to_status == "approved"), None)
        verdict = None
        if plan.has_figures:
            checks = tuple((c.passed, c.message) for c in plan.verdict.checks)
            verdict = VerdictView(plan.verdict.viable, plan.verdict.label, checks)
        return PlanView(
            unit_id=unit.id,
            unit_name=unit.name,
            household=names.families.get(unit.family_id) or unit.family_id,
            owners=tuple(names.beneficiaries.get(o) or o for o in unit.owner_ids),
            community=self._communities().get(unit.community_id) or unit.community_id or "—",
            sector=self._sectors().get(unit.sector) or unit.sector,
            kind=KINDS.get(unit.kind, unit.kind),
            version=plan.version,
            status=plan.status,
            approved_by=approval.by if approval else "",
            approved_at=approval.at.ToDatetime(tzinfo=UTC) if approval and approval.HasField("at") else None,
            content=content_from_mapping(json.loads(plan.content_json or "{}")),
            verdict=verdict,
            based_on=plan.based_on,
        )

    @functools.lru_cache(maxsize=1)  # noqa: B019 - the sector catalogue is fixed per release; one source per process
    def _sectors(self) -> dict[str, str]:
        reply = self.income.call(self.income.stub.ListSectors, ipb.ListSectorsRequest())
        return {s.code: s.label for s in reply.sectors}

    def _communities(self) -> dict[str, str]:
        reply = self.people.call(self.people.stub.ListCommunities, bpb.ListCommunitiesRequest())
        return {c.id: c.name for c in reply.communities}


class _Client(ServiceClient):
    timeout_seconds = TIMEOUT_SECONDS

    def __init__(self, target: str, stub: type) -> None:
        super().__init__(target, stub, SERVICE_SUBJECT, SERVICE_ROLE)
