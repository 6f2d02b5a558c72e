"""The beneficiaries service (gRPC) as the income service's directory of people:
owners of a UP and trainees must exist, and owners belong to the UP's household."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from crm_platform import errors as vocabulary
from crm_platform.grpc_client import ServiceClient
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2_grpc as pb_grpc
from services.income.service_layer.ports import Person

SERVICE_SUBJECT = "income"
SERVICE_ROLE = "service"


class BeneficiariesDirectory(ServiceClient):
    timeout_seconds = 5.0

    def __init__(self, target: str) -> None:
        super().__init__(target, pb_grpc.BeneficiariesServiceStub, SERVICE_SUBJECT, SERVICE_ROLE)

    def people(self, beneficiary_ids: Sequence[str]) -> dict[str, Person]:
        found: dict[str, Person] = {}
        for beneficiary_id in beneficiary_ids:
            try:
                person = self.call(self.stub.GetBeneficiary, pb.GetBeneficiaryRequest(id=beneficiary_id))
            except (vocabulary.NotFound, vocabulary.InvalidArgument):
                continue  # no such person
            except vocabulary.ServiceError as exc:
                call = exc.__cause__
                code = call.code() if isinstance(call, grpc.Call) else None
                raise vocabulary.Unavailable(
                    f"El servicio de beneficiarios no respondió al buscar a {beneficiary_id}: {code}"
                ) from exc
            found[person.id] = Person(person.id, person.family_id, person.community_id, person.sex)
        return found
