"""The beneficiaries service as the notifications' directory of people (gRPC).

A person's phone is ``whatsapp_phone`` as typed; consent is the ``notifications``
consent, granted and not withdrawn, as the beneficiaries service records it; the
channel preference is ``contact_channels``."""

from __future__ import annotations

import grpc

from crm_platform import errors as vocabulary
from crm_platform.grpc_client import ServiceClient
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2_grpc as pb_grpc
from services.notifications.service_layer.ports import Contact, DirectoryUnavailable

SERVICE_SUBJECT = "notifications"
SERVICE_ROLE = "service"
CONSENT_KIND = "notifications"
TIMEOUT_SECONDS = 5.0
PAGE = 200


def contact_of(found: pb.Beneficiary) -> Contact:
    consents = any(c.kind == CONSENT_KIND and c.granted for c in found.consents)
    return Contact(
        recipient_id=found.id,
        name=f"{found.first_names} {found.last_names}".strip(),
        phone=found.whatsapp_phone,
        email=found.email,
        consents_to_notifications=consents,
        channels=tuple(found.contact_channels),
    )


class BeneficiariesDirectory(ServiceClient):
    timeout_seconds = TIMEOUT_SECONDS

    def __init__(self, target: str) -> None:
        super().__init__(target, pb_grpc.BeneficiariesServiceStub, SERVICE_SUBJECT, SERVICE_ROLE)

    def contact(self, recipient_id: str) -> Contact | None:
        try:
            found = self.call(self.stub.GetBeneficiary, pb.GetBeneficiaryRequest(id=recipient_id))
        except vocabulary.ServiceError as exc:
            _absent_or_raise(exc, "persona", recipient_id)
            return None
        return contact_of(found)

    def family(self, family_id: str) -> list[Contact] | None:
        try:
            found = self.call(self.stub.ListFamilyMembers, pb.ListFamilyMembersRequest(family_id=family_id))
        except vocabulary.ServiceError as exc:
            _absent_or_raise(exc, "hogar", family_id)
            return None
        return [contact_of(m) for m in found.members]

    def community(self, community_id: str) -> list[Contact] | None:
        members: list[Contact] = []
        after = ""
        while True:
            request = pb.ListCommunityMembersRequest(community_id=community_id, limit=PAGE, after_id=after)
            try:
                page = self.call(self.stub.ListCommunityMembers, request)
            except vocabulary.ServiceError as exc:
                _absent_or_raise(exc, "comunidad", community_id)
                return None
            if not page.beneficiaries:  # the server may cap the page size below PAGE
                return members
            members += [contact_of(b) for b in page.beneficiaries]
            after = page.beneficiaries[-1].id


def _absent_or_raise(exc: vocabulary.ServiceError, kind: str, key: str) -> None:
    """NOT_FOUND or an invalid id means there is no such record; anything else means
    we cannot tell now, which must not turn into "unknown recipient"."""
    if isinstance(exc, vocabulary.NotFound | vocabulary.InvalidArgument):
        return
    call = exc.__cause__
    code = call.code() if isinstance(call, grpc.Call) else None
    raise DirectoryUnavailable(f"El servicio de beneficiarios no respondió al buscar {kind} {key}: {code}") from exc
