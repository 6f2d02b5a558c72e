"""The beneficiaries gRPC server: ``crm-beneficiaries-grpc``.

Runs in its own process (grpcio must not share a process with eventlet) over the
same use cases as the nameko service. Domain errors are translated to status codes
in one place, ``_translate``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from crm_platform import grpc_support, process
from crm_platform.config import setting
from crm_platform.outbox import OutboxSweeper
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2_grpc as pb_grpc
from crm_platform.telemetry import setup_tracing, shutdown_tracing
from services.beneficiaries.adapters.crypto import TemplateDecryptionError
from services.beneficiaries.bootstrap import SERVICE_NAME, App, bootstrap
from services.beneficiaries.domain import errors, model
from services.beneficiaries.entrypoints import proto_mapping as to_pb

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
SERVICE_FULL_NAME = pb.DESCRIPTOR.services_by_name["BeneficiariesService"].full_name


def _translate(method: F) -> F:
    """Map domain errors to gRPC status codes (the only place that does)."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except errors.ValidationFailed as exc:
            grpc_support.abort(context, grpc.StatusCode.INVALID_ARGUMENT, exc.message, exc.errors)
        except errors.NotFound as exc:
            grpc_support.abort(context, grpc.StatusCode.NOT_FOUND, exc.message)
        except errors.AlreadyExists as exc:
            grpc_support.abort(context, grpc.StatusCode.ALREADY_EXISTS, exc.message, {exc.field: exc.message})
        except errors.Conflict as exc:
            fields = {exc.field: exc.message} if exc.field else None
            grpc_support.abort(context, grpc.StatusCode.FAILED_PRECONDITION, exc.message, fields)
        except errors.PermissionDenied as exc:
            grpc_support.abort(context, grpc.StatusCode.PERMISSION_DENIED, exc.message)
        except TemplateDecryptionError:
            log.exception("biometric template could not be opened")
            grpc_support.abort(context, grpc.StatusCode.INTERNAL, "La plantilla biométrica está dañada")
        return None  # unreachable: abort raises

    return wrapper  # type: ignore[return-value]


def _actor(context: grpc.ServicerContext) -> model.Actor:
    subject, role = grpc_support.current_caller()
    return model.Actor(subject, role)


class BeneficiariesServicer(pb_grpc.BeneficiariesServiceServicer):
    def __init__(self, app: App) -> None:
        self.app = app
        self.h = app.handlers

    @_translate
    def RegisterCommunity(self, request: pb.RegisterCommunityRequest, context: grpc.ServicerContext) -> pb.Community:
        cmd = model.RegisterCommunity(request.name, request.municipality, request.department)
        return to_pb.community(self.h.register_community(cmd, _actor(context)))

    @_translate
    def ListCommunities(
        self, request: pb.ListCommunitiesRequest, context: grpc.ServicerContext
    ) -> pb.ListCommunitiesResponse:
        return pb.ListCommunitiesResponse(communities=[to_pb.community(c) for c in self.h.list_communities()])

    @_translate
    def RegisterFamily(self, request: pb.RegisterFamilyRequest, context: grpc.ServicerContext) -> pb.Family:
        cmd = model.RegisterFamily(request.community_id, request.name, request.address)
        return to_pb.family(self.h.register_family(cmd, _actor(context)))

    @_translate
    def GetFamily(self, request: pb.GetFamilyRequest, context: grpc.ServicerContext) -> pb.Family:
        family = self.h.get_family(request.id)
        members = self.h.family_members(family.id)
        head = next((m.id for m in members if m.relationship == "head"), "")
        return to_pb.family(family, len(members), head)

    @_translate
    def ListFamilyMembers(
        self, request: pb.ListFamilyMembersRequest, context: grpc.ServicerContext
    ) -> pb.ListFamilyMembersResponse:
        return pb.ListFamilyMembersResponse(
            members=[to_pb.beneficiary(m) for m in self.h.family_members(request.family_id)]
        )

    @_translate
    def RegisterBeneficiary(
        self, request: pb.RegisterBeneficiaryRequest, context: grpc.ServicerContext
    ) -> pb.Beneficiary:
        cmd = model.RegisterBeneficiary(
            id_type=request.national_id.type,
            id_number=request.national_id.number,
            first_names=request.first_names,
            last_names=request.last_names,
            birth_date=request.birth_date,
            sex=request.sex,
            community_id=request.community_id,
            family_id=request.family_id,
            relationship=request.relationship,
            whatsapp_phone=request.whatsapp_phone,
            email=request.email,
            education_level=request.education_level,
            can_sign=request.can_sign,
            contact_channels=tuple(request.contact_channels),
        )
        return to_pb.beneficiary(self.h.register_beneficiary(cmd, _actor(context)))

    @_translate
    def GetBeneficiary(self, request: pb.GetBeneficiaryRequest, context: grpc.ServicerContext) -> pb.Beneficiary:
        return to_pb.beneficiary(self.h.get_beneficiary(request.id))

    @_translate
    def GetBeneficiaryByNationalId(
        self, request: pb.GetBeneficiaryByNationalIdRequest, context: grpc.ServicerContext
    ) -> pb.Beneficiary:
        return to_pb.beneficiary(self.h.get_by_national_id(request.national_id.type, request.national_id.number))

    @_translate
    def ListCommunityMembers(
        self, request: pb.ListCommunityMembersRequest, context: grpc.ServicerContext
    ) -> pb.ListCommunityMembersResponse:
        found = self.h.community_members(request.community_id, request.after_id, request.limit)
        return pb.ListCommunityMembersResponse(beneficiaries=[to_pb.beneficiary(p) for p in found])

    @_translate
    def SearchBeneficiaries(
        self, request: pb.SearchBeneficiariesRequest, context: grpc.ServicerContext
    ) -> pb.SearchBeneficiariesResponse:
        found = self.h.search(request.query, request.community_id, request.limit)
        return pb.SearchBeneficiariesResponse(beneficiaries=[to_pb.beneficiary(p) for p in found])

    @_translate
    def AddMember(self, request: pb.AddMemberRequest, context: grpc.ServicerContext) -> pb.Beneficiary:
        person = self.h.add_member(request.family_id, request.beneficiary_id, request.relationship, _actor(context))
        return to_pb.beneficiary(person)

    @_translate
    def MoveMember(self, request: pb.MoveMemberRequest, context: grpc.ServicerContext) -> pb.Beneficiary:
        person = self.h.move_member(request.beneficiary_id, request.to_family_id, request.relationship, _actor(context))
        return to_pb.beneficiary(person)

    @_translate
    def UpdateContact(self, request: pb.UpdateContactRequest, context: grpc.ServicerContext) -> pb.Beneficiary:
        phone = request.whatsapp_phone if request.HasField("whatsapp_phone") else None
        email = request.email if request.HasField("email") else None
        channels = list(request.contact_channels.channels) if request.HasField("contact_channels") else None
        person = self.h.update_contact(request.beneficiary_id, phone, email, _actor(context), channels)
        return to_pb.beneficiary(person)

    @_translate
    def RecordConsent(self, request: pb.RecordConsentRequest, context: grpc.ServicerContext) -> pb.Beneficiary:
        return to_pb.beneficiary(self.h.set_consent(request.beneficiary_id, request.kind, True, _actor(context)))

    @_translate
    def WithdrawConsent(self, request: pb.WithdrawConsentRequest, context: grpc.ServicerContext) -> pb.Beneficiary:
        return to_pb.beneficiary(self.h.set_consent(request.beneficiary_id, request.kind, False, _actor(context)))

    @_translate
    def StoreBiometricTemplate(
        self, request: pb.StoreBiometricTemplateRequest, context: grpc.ServicerContext
    ) -> pb.BiometricEnrolment:
        enrolment = self.h.store_biometric_template(
            request.beneficiary_id, request.finger, request.template, _actor(context)
        )
        return to_pb.enrolment(request.beneficiary_id, enrolment)

    @_translate
    def GetBiometricTemplate(
        self, request: pb.GetBiometricTemplateRequest, context: grpc.ServicerContext
    ) -> pb.BiometricTemplate:
        enrolment, template = self.h.get_biometric_template(request.beneficiary_id, request.finger, _actor(context))
        return pb.BiometricTemplate(enrolment=to_pb.enrolment(request.beneficiary_id, enrolment), template=template)

    @_translate
    def GetTimeline(self, request: pb.GetTimelineRequest, context: grpc.ServicerContext) -> pb.GetTimelineResponse:
        entries = self.h.timeline(request.subject_type, request.subject_id, request.limit)
        return pb.GetTimelineResponse(entries=[to_pb.timeline_entry(e) for e in entries])


def create_server(address: str, app: App, max_workers: int = 16) -> tuple[grpc.Server, int]:
    servicer = BeneficiariesServicer(app)
    server, port, _ = grpc_support.create_server(
        address,
        lambda s: pb_grpc.add_BeneficiariesServiceServicer_to_server(servicer, s),
        [SERVICE_FULL_NAME],
        max_workers=max_workers,
    )
    return server, port


def main() -> None:
    process.configure_logging()
    setup_tracing(f"{SERVICE_NAME}-grpc")
    app = bootstrap()
    address = f"{setting('GRPC_HOST', '127.0.0.1')}:{setting('GRPC_PORT', '50051')}"
    server, port = create_server(address, app, int(setting("GRPC_MAX_WORKERS", "16")))
    sweeper = OutboxSweeper(app.relay)
    server.start()
    sweeper.start()
    log.info("beneficiaries gRPC listening on port %d", port)
    process.wait_for_stop_signal()
    sweeper.stopping.set()
    server.stop(grace=5).wait()
    app.close()
    shutdown_tracing()


if __name__ == "__main__":
    main()
