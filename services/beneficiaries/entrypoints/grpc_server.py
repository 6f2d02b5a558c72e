"""The beneficiaries gRPC server: ``crm-beneficiaries-grpc``.

Runs in its own process (grpcio must not share a process with eventlet) over the
same use cases as the nameko service. Domain errors are the platform's vocabulary,
translated by the server's interceptor. It also runs the outbox sweep.
"""

from __future__ import annotations

import logging

import grpc

from crm_platform import grpc_support
from crm_platform.outbox import OutboxSweeper
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2_grpc as pb_grpc
from crm_platform.service import GrpcEndpoint, Servicer, run_service
from services.beneficiaries.access import ACCESS
from services.beneficiaries.adapters.crypto import TemplateDecryptionError
from services.beneficiaries.bootstrap import SERVICE_NAME, App, bootstrap
from services.beneficiaries.domain import model
from services.beneficiaries.entrypoints import proto_mapping as to_pb

log = logging.getLogger(__name__)
SERVICE_FULL_NAME = pb.DESCRIPTOR.services_by_name["BeneficiariesService"].full_name


def _actor(context: grpc.ServicerContext) -> model.Actor:
    subject, role = grpc_support.current_caller()
    return model.Actor(subject, role)


class BeneficiariesServicer(pb_grpc.BeneficiariesServiceServicer):
    def __init__(self, app: App) -> None:
        self.app = app
        self.h = app.handlers

    def RegisterCommunity(self, request: pb.RegisterCommunityRequest, context: grpc.ServicerContext) -> pb.Community:
        cmd = model.RegisterCommunity(request.name, request.municipality, request.department)
        return to_pb.community(self.h.register_community(cmd, _actor(context)))

    def ListCommunities(
        self, request: pb.ListCommunitiesRequest, context: grpc.ServicerContext
    ) -> pb.ListCommunitiesResponse:
        return pb.ListCommunitiesResponse(communities=[to_pb.community(c) for c in self.h.list_communities()])

    def RegisterFamily(self, request: pb.RegisterFamilyRequest, context: grpc.ServicerContext) -> pb.Family:
        cmd = model.RegisterFamily(request.community_id, request.name, request.address)
        return to_pb.family(self.h.register_family(cmd, _actor(context)))

    def GetFamily(self, request: pb.GetFamilyRequest, context: grpc.ServicerContext) -> pb.Family:
        family = self.h.get_family(request.id)
        members = self.h.family_members(family.id)
        head = next((m.id for m in members if m.relationship == "head"), "")
        return to_pb.family(family, len(members), head)

    def ListFamilyMembers(
        self, request: pb.ListFamilyMembersRequest, context: grpc.ServicerContext
    ) -> pb.ListFamilyMembersResponse:
        return pb.ListFamilyMembersResponse(
            members=[to_pb.beneficiary(m) for m in self.h.family_members(request.family_id)]
        )

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

    def GetBeneficiary(self, request: pb.GetBeneficiaryRequest, context: grpc.ServicerContext) -> pb.Beneficiary:
        return to_pb.beneficiary(self.h.get_beneficiary(request.id))

    def LookupNames(self, request: pb.LookupNamesRequest, context: grpc.ServicerContext) -> pb.LookupNamesResponse:
        people, families = self.h.names(request.beneficiary_ids, request.family_ids)
        return pb.LookupNamesResponse(beneficiaries=people, families=families)

    def GetBeneficiaryByNationalId(
        self, request: pb.GetBeneficiaryByNationalIdRequest, context: grpc.ServicerContext
    ) -> pb.Beneficiary:
        return to_pb.beneficiary(self.h.get_by_national_id(request.national_id.type, request.national_id.number))

    def ListCommunityMembers(
        self, request: pb.ListCommunityMembersRequest, context: grpc.ServicerContext
    ) -> pb.ListCommunityMembersResponse:
        found = self.h.community_members(request.community_id, request.after_id, request.limit)
        return pb.ListCommunityMembersResponse(beneficiaries=[to_pb.beneficiary(p) for p in found])

    def SearchBeneficiaries(
        self, request: pb.SearchBeneficiariesRequest, context: grpc.ServicerContext
    ) -> pb.SearchBeneficiariesResponse:
        found = self.h.search(request.query, request.community_id, request.limit)
        return pb.SearchBeneficiariesResponse(beneficiaries=[to_pb.beneficiary(p) for p in found])

    def AddMember(self, request: pb.AddMemberRequest, context: grpc.ServicerContext) -> pb.Beneficiary:
        person = self.h.add_member(request.family_id, request.beneficiary_id, request.relationship, _actor(context))
        return to_pb.beneficiary(person)

    def MoveMember(self, request: pb.MoveMemberRequest, context: grpc.ServicerContext) -> pb.Beneficiary:
        person = self.h.move_member(request.beneficiary_id, request.to_family_id, request.relationship, _actor(context))
        return to_pb.beneficiary(person)

    def UpdateContact(self, request: pb.UpdateContactRequest, context: grpc.ServicerContext) -> pb.Beneficiary:
        phone = request.whatsapp_phone if request.HasField("whatsapp_phone") else None
        email = request.email if request.HasField("email") else None
        channels = list(request.contact_channels.channels) if request.HasField("contact_channels") else None
        person = self.h.update_contact(request.beneficiary_id, phone, email, _actor(context), channels)
        return to_pb.beneficiary(person)

    def RecordConsent(self, request: pb.RecordConsentRequest, context: grpc.ServicerContext) -> pb.Beneficiary:
        return to_pb.beneficiary(self.h.set_consent(request.beneficiary_id, request.kind, True, _actor(context)))

    def WithdrawConsent(self, request: pb.WithdrawConsentRequest, context: grpc.ServicerContext) -> pb.Beneficiary:
        return to_pb.beneficiary(self.h.set_consent(request.beneficiary_id, request.kind, False, _actor(context)))

    def StoreBiometricTemplate(
        self, request: pb.StoreBiometricTemplateRequest, context: grpc.ServicerContext
    ) -> pb.BiometricEnrolment:
        enrolment = self.h.store_biometric_template(
            request.beneficiary_id, request.finger, request.template, _actor(context)
        )
        return to_pb.enrolment(request.beneficiary_id, enrolment)

    def GetBiometricTemplate(
        self, request: pb.GetBiometricTemplateRequest, context: grpc.ServicerContext
    ) -> pb.BiometricTemplate:
        try:
            enrolment, template = self.h.get_biometric_template(request.beneficiary_id, request.finger, _actor(context))
        except TemplateDecryptionError:
            # A damaged record is the server's fault, not one of the vocabulary's:
            # the cause (key id, tampering) goes to the log, never to the caller.
            log.exception("biometric template could not be opened")
            grpc_support.abort(context, grpc.StatusCode.INTERNAL, "La plantilla biométrica está dañada")
            raise  # unreachable: abort raises
        return pb.BiometricTemplate(enrolment=to_pb.enrolment(request.beneficiary_id, enrolment), template=template)

    def GetTimeline(self, request: pb.GetTimelineRequest, context: grpc.ServicerContext) -> pb.GetTimelineResponse:
        entries = self.h.timeline(request.subject_type, request.subject_id, request.limit)
        return pb.GetTimelineResponse(entries=[to_pb.timeline_entry(e) for e in entries])


def endpoint(app: App) -> GrpcEndpoint:
    servicer = Servicer(
        BeneficiariesServicer(app), pb_grpc.add_BeneficiariesServiceServicer_to_server, SERVICE_FULL_NAME, ACCESS
    )
    return GrpcEndpoint("GRPC_PORT", 50051, [servicer])


def main() -> None:
    run_service(f"{SERVICE_NAME}-grpc", bootstrap, grpc=endpoint, background=lambda app: [OutboxSweeper(app.relay)])


if __name__ == "__main__":
    main()
