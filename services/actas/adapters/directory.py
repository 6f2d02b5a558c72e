"""The beneficiaries service as the actas service's directory of people (gRPC)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import grpc

from crm_platform.grpc_support import caller_metadata
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2_grpc as pb_grpc
from services.actas.domain.errors import DependencyUnavailable
from services.actas.service_layer.ports import Person

SERVICE_SUBJECT = "actas"
SERVICE_ROLE = "service"
TIMEOUT_SECONDS = 5.0


class BeneficiariesDirectory:
    def __init__(self, target: str) -> None:
        options = [("grpc.lb_policy_name", "round_robin")]
        self._channel = grpc.insecure_channel(target, options=options)
        self._stub = pb_grpc.BeneficiariesServiceStub(self._channel)
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="directory")

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        self._channel.close()

    def people(self, beneficiary_ids: Sequence[str]) -> dict[str, Person]:
        found = self._pool.map(self._person, beneficiary_ids) if len(beneficiary_ids) > 1 else map(
            self._person, beneficiary_ids
        )
        return {p.beneficiary_id: p for p in found if p is not None}

    def family_exists(self, family_id: str) -> bool:
        try:
            self._stub.GetFamily(pb.GetFamilyRequest(id=family_id), metadata=self._metadata(), timeout=TIMEOUT_SECONDS)
        except grpc.RpcError as exc:
            return self._absent(exc, "hogar", family_id)
        return True

    def _person(self, beneficiary_id: str) -> Person | None:
        try:
            found = self._stub.GetBeneficiary(
                pb.GetBeneficiaryRequest(id=beneficiary_id), metadata=self._metadata(), timeout=TIMEOUT_SECONDS
            )
        except grpc.RpcError as exc:
            self._absent(exc, "persona", beneficiary_id)
            return None
        return Person(
            beneficiary_id=found.id,
            family_id=found.family_id,
            community_id=found.community_id,
            full_name=f"{found.first_names} {found.last_names}".strip(),
            national_id=f"{found.national_id.type} {found.national_id.number}".strip(),
            enrolled={b.finger: b.template_sha256 for b in found.biometrics},
        )

    @staticmethod
    def _metadata() -> list[tuple[str, str]]:
        return caller_metadata(SERVICE_SUBJECT, SERVICE_ROLE)

    @staticmethod
    def _absent(exc: grpc.RpcError, kind: str, key: str) -> bool:
        """NOT_FOUND or an invalid id means the record does not exist; anything else
        means we cannot tell now, which must not turn into a rejection."""
        code = exc.code() if isinstance(exc, grpc.Call) else None
        if code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
            return False
        raise DependencyUnavailable(f"El servicio de beneficiarios no respondió al buscar {kind} {key}: {code}")
