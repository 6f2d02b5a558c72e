"""The beneficiaries and actas services as the records a backfill reads (gRPC, as
the platform service ``reports``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform import errors as vocabulary
from crm_platform.grpc_client import ServiceClient
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2_grpc as apb_grpc
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as bpb
from services.reports.adapters.directory import SERVICE_SUBJECT, BeneficiariesDirectory, person_of
from services.reports.domain.facts import COLOMBIA, Person

PAGE = 500


class BeneficiariesRecords(BeneficiariesDirectory):
    def communities(self) -> list[tuple[str, str]]:
        reply = self.call(self.stub.ListCommunities, bpb.ListCommunitiesRequest())
        return [(c.id, c.name) for c in reply.communities]

    def members(self, community_id: str) -> Iterator[Person]:
        after = ""
        while True:
            request = bpb.ListCommunityMembersRequest(community_id=community_id, limit=PAGE, after_id=after)
            page = self.call(self.stub.ListCommunityMembers, request).beneficiaries
            if not page:
                return
            yield from (person_of(b) for b in page)
            after = page[-1].id

    def household(self, family_id: str) -> tuple[str, str, str] | None:
        try:
            found = self.call(self.stub.GetFamily, bpb.GetFamilyRequest(id=family_id))
        except (vocabulary.NotFound, vocabulary.InvalidArgument):
            return None
        day = found.created_at.ToDatetime(tzinfo=UTC).astimezone(COLOMBIA).date().isoformat()
        return found.community_id, found.name, day


class ActasRecords(ServiceClient):
    timeout_seconds = 30.0

    def __init__(self, target: str) -> None:
        super().__init__(target, apb_grpc.ActasServiceStub, SERVICE_SUBJECT)

    def sealed_actas(self) -> Iterator[dict[str, Any]]:
        upper: Timestamp | None = None
        while True:
            request = apb.ListActasRequest(status="sealed", limit=PAGE)
            if upper is not None:
                request.captured_to.CopyFrom(upper)
            page = self.call(self.stub.ListActas, request).actas
            yield from (payload_of(a) for a in page)
            if len(page) < PAGE:
                return
            # ``captured_to`` is exclusive: the next page ends a microsecond after the
            # oldest of this one, so actas sharing its instant are read again (harmless).
            oldest = page[-1].captured_at.ToDatetime(tzinfo=UTC)
            following = Timestamp()
            following.FromDatetime(oldest + timedelta(microseconds=1))
            if upper is not None and following.ToDatetime(tzinfo=UTC) >= upper.ToDatetime(tzinfo=UTC):
                following.FromDatetime(oldest)  # a full page at one instant: move on
            upper = following


def payload_of(acta: apb.Acta) -> dict[str, Any]:
    """The fields of ``acta_sealed`` the projection reads (never the content)."""
    participants = [{"beneficiary_id": p.beneficiary_id, "family_id": p.family_id} for p in acta.participants]
    return {
        "acta_id": acta.id,
        "template_key": acta.template_key,
        "captured_at": acta.captured_at.ToDatetime(tzinfo=UTC).isoformat(),
        "gestor_id": acta.gestor_id,
        "community_id": acta.community_id,
        "amends": acta.amends,
        "participants": participants,
        "family_ids": sorted({p.family_id for p in acta.participants if p.family_id}),
    }
