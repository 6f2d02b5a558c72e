"""The beneficiaries service as the actas service's directory of people (gRPC).

Answers may be cached for a few seconds when the caller allows it (kiosk batches
name the same community members again and again); the handlers re-ask with
``fresh=True`` before refusing anyone on cached data."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import grpc

from crm_platform import errors as vocabulary
from crm_platform.grpc_client import ServiceClient
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2_grpc as pb_grpc
from services.actas.domain.errors import DependencyUnavailable
from services.actas.service_layer.ports import Person

SERVICE_SUBJECT = "actas"
SERVICE_ROLE = "service"
TIMEOUT_SECONDS = 5.0
CACHE_LIMIT = 10_000


class BeneficiariesDirectory(ServiceClient):
    timeout_seconds = TIMEOUT_SECONDS

    def __init__(self, target: str, cache_seconds: float = 10.0) -> None:
        super().__init__(target, pb_grpc.BeneficiariesServiceStub, SERVICE_SUBJECT, SERVICE_ROLE)
        self._ttl = cache_seconds
        self._cache: dict[str, tuple[float, Person]] = {}
        self._communities: dict[str, str] = {}
        self._communities_until = 0.0
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="directory")

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        super().close()

    def people(self, beneficiary_ids: Sequence[str], fresh: bool = True) -> dict[str, Person]:
        now = time.monotonic()
        known: dict[str, Person] = {}
        missing: list[str] = []
        for beneficiary_id in beneficiary_ids:
            cached = None if fresh else self._cache.get(beneficiary_id)
            if cached is not None and cached[0] > now:
                known[beneficiary_id] = cached[1]
            else:
                missing.append(beneficiary_id)
        for person in self._lookup(missing):
            if person is not None:
                known[person.beneficiary_id] = person
                self._cache[person.beneficiary_id] = (now + self._ttl, person)
        if len(self._cache) > CACHE_LIMIT:
            self._cache.clear()
        return known

    def family_name(self, family_id: str) -> str | None:
        try:
            found = self.call(self.stub.GetFamily, pb.GetFamilyRequest(id=family_id))
        except vocabulary.ServiceError as exc:
            _absent(exc, "hogar", family_id)
            return None
        return str(found.name)

    def community_name(self, community_id: str) -> str:
        """Communities are few and seldom renamed: all of them are asked for at
        once and kept for the cache's lifetime."""
        now = time.monotonic()
        if community_id not in self._communities or self._communities_until <= now:
            try:
                reply = self.call(self.stub.ListCommunities, pb.ListCommunitiesRequest())
            except vocabulary.ServiceError:
                return ""  # a name is for display; the acta keeps the community's id
            self._communities = {c.id: c.name for c in reply.communities}
            self._communities_until = now + max(self._ttl, 60.0)
        return self._communities.get(community_id, "")

    def _lookup(self, beneficiary_ids: list[str]) -> list[Person | None]:
        """One call per person, in parallel when there are several; each call runs in
        a copy of the caller's context, so its span joins the caller's trace."""
        if len(beneficiary_ids) <= 1:
            return [self._person(b) for b in beneficiary_ids]
        calls = [self._pool.submit(contextvars.copy_context().run, self._person, b) for b in beneficiary_ids]
        try:
            return [call.result() for call in calls]
        finally:
            for call in calls:
                call.cancel()

    def _person(self, beneficiary_id: str) -> Person | None:
        try:
            found = self.call(self.stub.GetBeneficiary, pb.GetBeneficiaryRequest(id=beneficiary_id))
        except vocabulary.ServiceError as exc:
            _absent(exc, "persona", beneficiary_id)
            return None
        return Person(
            beneficiary_id=found.id,
            family_id=found.family_id,
            community_id=found.community_id,
            full_name=f"{found.first_names} {found.last_names}".strip(),
            national_id=f"{found.national_id.type} {found.national_id.number}".strip(),
            enrolled={b.finger: b.template_sha256 for b in found.biometrics},
        )


def _absent(exc: vocabulary.ServiceError, kind: str, key: str) -> bool:
    """NOT_FOUND or an invalid id means the record does not exist; anything else
    means we cannot tell now, which must not turn into a rejection."""
    if isinstance(exc, vocabulary.NotFound | vocabulary.InvalidArgument):
        return False
    call = exc.__cause__
    code = call.code() if isinstance(call, grpc.Call) else None
    raise DependencyUnavailable(f"El servicio de beneficiarios no respondió al buscar {kind} {key}: {code}") from exc
