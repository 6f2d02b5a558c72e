"""The beneficiaries service as the directory the projection reads people from (gRPC).

The person events carry no birth date, sex or consents (by design: they travel to
every consumer); this service reads them from the owner, as a platform service."""

from __future__ import annotations

from datetime import UTC

from crm_platform import errors as vocabulary
from crm_platform.grpc_client import ServiceClient
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2_grpc as pb_grpc
from services.reports.domain.facts import COLOMBIA, Person

SERVICE_SUBJECT = "reports"


def person_of(found: pb.Beneficiary) -> Person:
    registered_on = ""
    if found.HasField("created_at"):
        registered_on = found.created_at.ToDatetime(tzinfo=UTC).astimezone(COLOMBIA).date().isoformat()
    return Person(
        id=found.id,
        community_id=found.community_id,
        family_id=found.family_id,
        relationship=found.relationship,
        sex=found.sex,
        birth_date=found.birth_date,
        consents={c.kind: c.granted for c in found.consents},
        name=f"{found.first_names} {found.last_names}".strip(),
        registered_on=registered_on,
        version=int(found.version),
    )


class BeneficiariesDirectory(ServiceClient):
    def __init__(self, target: str) -> None:
        super().__init__(target, pb_grpc.BeneficiariesServiceStub, SERVICE_SUBJECT)

    def person(self, person_id: str) -> Person | None:
        try:
            found = self.call(self.stub.GetBeneficiary, pb.GetBeneficiaryRequest(id=person_id))
        except (vocabulary.NotFound, vocabulary.InvalidArgument):
            return None
        return person_of(found)
