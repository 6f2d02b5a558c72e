"""The beneficiaries service as the notifications' directory of people (gRPC).

A person's phone is ``whatsapp_phone`` as typed; consent is the ``notifications``
consent, granted and not withdrawn, as the beneficiaries service records it; the
channel preference is ``contact_channels``."""

from __future__ import annotations

import grpc

from crm_platform.grpc_support import caller_metadata
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


class BeneficiariesDirectory:
    def __init__(self, target: str) -> None:
        self._channel = grpc.insecure_channel(target, options=[("grpc.lb_policy_name", "round_robin")])
        self._stub = pb_grpc.BeneficiariesServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def contact(self, recipient_id: str) -> Contact | None:
        try:
            found = self._stub.GetBeneficiary(
                pb.GetBeneficiaryRequest(id=recipient_id), metadata=self._metadata(), timeout=TIMEOUT_SECONDS
            )
        except grpc.RpcError as exc:
            _absent_or_raise(exc, "persona", recipient_id)
            return None
        return contact_of(found)

    def family(self, family_id: str) -> list[Contact] | None:
        try:
            found = self._stub.ListFamilyMembers(
                pb.ListFamilyMembersRequest(family_id=family_id), metadata=self._metadata(), timeout=TIMEOUT_SECONDS
            )
        except grpc.RpcError as exc:
            _absent_or_raise(exc, "hogar", family_id)
            return None
        return [contact_of(m) for m in found.members]

    def community(self, community_id: str) -> list[Contact] | None:
        members: list[Contact] = []
        after = ""
        while True:
            try:
                page = self._stub.ListCommunityMembers(
                    pb.ListCommunityMembersRequest(community_id=community_id, limit=PAGE, after_id=after),
                    metadata=self._metadata(),
                    timeout=TIMEOUT_SECONDS,
                )
            except grpc.RpcError as exc:
                _absent_or_raise(exc, "comunidad", community_id)
                return None
            if not page.beneficiaries:  # the server may cap the page size below PAGE
                return members
            members += [contact_of(b) for b in page.beneficiaries]
            after = page.beneficiaries[-1].id

    @staticmethod
    def _metadata() -> list[tuple[str, str]]:
        return caller_metadata(SERVICE_SUBJECT, SERVICE_ROLE)


def _absent_or_raise(exc: grpc.RpcError, kind: str, key: str) -> None:
    """NOT_FOUND or an invalid id means there is no such record; anything else means
    we cannot tell now, which must not turn into "unknown recipient"."""
    code = exc.code() if isinstance(exc, grpc.Call) else None
    if code not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
        raise DirectoryUnavailable(f"El servicio de beneficiarios no respondió al buscar {kind} {key}: {code}")
