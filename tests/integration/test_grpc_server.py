"""The beneficiaries gRPC server against the real SecantusDB and RabbitMQ."""

from __future__ import annotations

import time

import grpc
import jwt
import pymongo
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from crm_platform.grpc_support import CALLER_HEADER, caller_metadata, field_errors
from crm_platform.identity import ISSUER as CALLER_ISSUER
from crm_platform.limits import MAX_GRPC_MESSAGE_BYTES
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from devstack.infra import Stack
from tests.helpers import GESTOR, KIOSK, eventually, person_request, unique_cc

SERVICE = "crm.beneficiaries.v1.BeneficiariesService"
TEMPLATE = bytes(range(256)) * 2  # 512 bytes, the size a ZhianTec sensor uploads


def test_health_check_reports_the_service_serving(grpc_channel: grpc.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(grpc_channel)
    reply = stub.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_beneficiaries_service(grpc_channel: grpc.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(grpc_channel)
    replies = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
    names = {s.name for reply in replies for s in reply.list_services_response.service}
    assert SERVICE in names


def test_register_then_read_by_id_and_by_national_id(beneficiaries, community) -> None:
    number = unique_cc()
    created = beneficiaries.RegisterBeneficiary(
        person_request(
            national_id=pb.NationalId(type="cc", number=f"{number[:1]}.{number[1:4]}.{number[4:7]}.{number[7:]}"),
            community_id=community.id,
            whatsapp_phone="300 123 4567",
        ),
        metadata=GESTOR,
    )
    assert created.national_id.type == "CC" and created.national_id.number == number
    assert created.whatsapp_phone == "+573001234567"
    by_id = beneficiaries.GetBeneficiary(pb.GetBeneficiaryRequest(id=created.id), metadata=GESTOR)
    assert by_id.first_names == "María José" and by_id.version == 1
    by_doc = beneficiaries.GetBeneficiaryByNationalId(
        pb.GetBeneficiaryByNationalIdRequest(national_id=pb.NationalId(type="CC", number=number)),
        metadata=GESTOR,
    )
    assert by_doc.id == created.id


def test_invalid_fields_are_all_named_and_nothing_is_written(beneficiaries, community, stack: Stack) -> None:
    request = person_request(
        national_id=pb.NationalId(type="CC", number="12ab"),
        first_names="",
        birth_date="2999-01-01",
        community_id=community.id,
    )
    with pytest.raises(grpc.RpcError) as err:
        beneficiaries.RegisterBeneficiary(request, metadata=GESTOR)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = field_errors(err.value)
    assert set(fields) == {"national_id.number", "first_names", "birth_date"}
    assert "futuro" in fields["birth_date"]
    client: pymongo.MongoClient = pymongo.MongoClient(stack.env["MONGO_URI"])
    try:
        assert client.crm_beneficiaries.beneficiaries.count_documents({"community_id": community.id}) == 0
    finally:
        client.close()


def test_duplicate_national_id_is_already_exists_whatever_its_formatting(beneficiaries, community) -> None:
    number = unique_cc()
    beneficiaries.RegisterBeneficiary(
        person_request(national_id=pb.NationalId(type="CC", number=number), community_id=community.id),
        metadata=GESTOR,
    )
    spaced = " ".join([number[:3], number[3:6], number[6:]])
    with pytest.raises(grpc.RpcError) as err:
        beneficiaries.RegisterBeneficiary(
            person_request(national_id=pb.NationalId(type="CC", number=spaced), community_id=community.id),
            metadata=GESTOR,
        )
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "national_id" in field_errors(err.value)


def test_unknown_ids_are_not_found_and_unknown_family_in_a_body_names_the_field(beneficiaries) -> None:
    with pytest.raises(grpc.RpcError) as err:
        beneficiaries.GetBeneficiary(pb.GetBeneficiaryRequest(id="does-not-exist"), metadata=GESTOR)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        beneficiaries.RegisterBeneficiary(
            person_request(family_id="no-such-family", relationship="child"), metadata=GESTOR
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "family_id" in field_errors(err.value)


def test_household_rules_member_twice_and_second_head(beneficiaries, family) -> None:
    head = beneficiaries.RegisterBeneficiary(person_request(family_id=family.id, relationship="head"), metadata=GESTOR)
    with pytest.raises(grpc.RpcError) as err:
        beneficiaries.RegisterBeneficiary(person_request(family_id=family.id, relationship="head"), metadata=GESTOR)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as err:
        beneficiaries.AddMember(
            pb.AddMemberRequest(family_id=family.id, beneficiary_id=head.id, relationship="head"),
            metadata=GESTOR,
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "ya es integrante" in err.value.details()
    members = beneficiaries.ListFamilyMembers(pb.ListFamilyMembersRequest(family_id=family.id), metadata=GESTOR)
    assert [m.id for m in members.members] == [head.id]
    fam = beneficiaries.GetFamily(pb.GetFamilyRequest(id=family.id), metadata=GESTOR)
    assert fam.member_count == 1 and fam.head_beneficiary_id == head.id


def test_move_member_between_households(beneficiaries, community) -> None:
    first, second = (
        beneficiaries.RegisterFamily(pb.RegisterFamilyRequest(community_id=community.id, name=n), metadata=GESTOR)
        for n in ("Hogar A", "Hogar B")
    )
    person = beneficiaries.RegisterBeneficiary(
        person_request(family_id=first.id, relationship="child"), metadata=GESTOR
    )
    moved = beneficiaries.MoveMember(
        pb.MoveMemberRequest(beneficiary_id=person.id, to_family_id=second.id, relationship="head"),
        metadata=GESTOR,
    )
    assert moved.family_id == second.id and moved.relationship == "head" and moved.version == 2
    assert not beneficiaries.ListFamilyMembers(pb.ListFamilyMembersRequest(family_id=first.id), metadata=GESTOR).members


def test_search_is_accent_and_case_insensitive_prefix(beneficiaries, community) -> None:
    created = beneficiaries.RegisterBeneficiary(
        person_request(first_names="Ángela", last_names="Núñez Ibáñez", community_id=community.id),
        metadata=GESTOR,
    )

    def search(query: str) -> list[str]:
        found = beneficiaries.SearchBeneficiaries(
            pb.SearchBeneficiariesRequest(query=query, community_id=community.id), metadata=GESTOR
        )
        return [p.id for p in found.beneficiaries]

    # The name index is a projection of beneficiary_registered: eventually consistent.
    eventually(lambda: search("ange"))
    for query in ("ANGE", "nuñ", "ibanez", "angela nun"):
        assert search(query) == [created.id], query
    none = beneficiaries.SearchBeneficiaries(
        pb.SearchBeneficiariesRequest(query="angelo", community_id=community.id), metadata=GESTOR
    )
    assert not none.beneficiaries


def test_update_contact_validates_and_clears(beneficiaries, community) -> None:
    person = beneficiaries.RegisterBeneficiary(person_request(community_id=community.id), metadata=GESTOR)
    with pytest.raises(grpc.RpcError) as err:
        beneficiaries.UpdateContact(
            pb.UpdateContactRequest(beneficiary_id=person.id, whatsapp_phone="12"), metadata=GESTOR
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "whatsapp_phone" in field_errors(err.value)
    updated = beneficiaries.UpdateContact(
        pb.UpdateContactRequest(beneficiary_id=person.id, whatsapp_phone="+57 310 555 1234", email="Ana@Example.org"),
        metadata=GESTOR,
    )
    assert updated.whatsapp_phone == "+573105551234" and updated.email == "ana@example.org"
    cleared = beneficiaries.UpdateContact(pb.UpdateContactRequest(beneficiary_id=person.id, email=""), metadata=GESTOR)
    assert cleared.email == "" and cleared.whatsapp_phone == "+573105551234"


def test_biometric_template_needs_consent_is_sealed_at_rest_and_only_a_kiosk_reads_it(
    beneficiaries, community, stack: Stack
) -> None:
    person = beneficiaries.RegisterBeneficiary(person_request(community_id=community.id), metadata=GESTOR)
    store = pb.StoreBiometricTemplateRequest(beneficiary_id=person.id, finger="right_index", template=TEMPLATE)
    with pytest.raises(grpc.RpcError) as err:
        beneficiaries.StoreBiometricTemplate(store, metadata=GESTOR)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    beneficiaries.RecordConsent(pb.RecordConsentRequest(beneficiary_id=person.id, kind="biometrics"), metadata=GESTOR)
    enrolment = beneficiaries.StoreBiometricTemplate(store, metadata=GESTOR)
    assert enrolment.finger == "right_index" and enrolment.enrolled_by == "gestor.test"

    client: pymongo.MongoClient = pymongo.MongoClient(stack.env["MONGO_URI"])
    try:
        raw = client.crm_beneficiaries.beneficiaries.find_one({"_id": person.id})
    finally:
        client.close()
    assert raw is not None
    sealed = bytes(raw["biometrics"]["right_index"]["sealed_template"])
    assert TEMPLATE not in sealed and TEMPLATE[:32] not in sealed

    read = pb.GetBiometricTemplateRequest(beneficiary_id=person.id, finger="right_index")
    with pytest.raises(grpc.RpcError) as err:
        beneficiaries.GetBiometricTemplate(read, metadata=GESTOR)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert beneficiaries.GetBiometricTemplate(read, metadata=KIOSK).template == TEMPLATE


def test_calls_without_a_valid_caller_assertion_are_unauthenticated(beneficiaries, community) -> None:
    request = pb.GetBiometricTemplateRequest(beneficiary_id="any", finger="right_index")
    now = int(time.time())
    forged = jwt.encode(
        {"sub": "intruder", "role": "kiosk", "iss": CALLER_ISSUER, "iat": now, "exp": now + 60},
        "not-the-internal-secret-not-the-internal-secret",
        algorithm="HS256",
    )
    plain_headers = [("x-crm-subject", "intruder"), ("x-crm-role", "kiosk")]
    for metadata in (None, plain_headers, [(CALLER_HEADER, forged)], [(CALLER_HEADER, "garbage")]):
        with pytest.raises(grpc.RpcError) as err:
            beneficiaries.GetBiometricTemplate(request, metadata=metadata)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED, metadata
        with pytest.raises(grpc.RpcError) as err:
            beneficiaries.RegisterBeneficiary(person_request(community_id=community.id), metadata=metadata)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.RpcError) as err:
            beneficiaries.ListCommunities(pb.ListCommunitiesRequest(), metadata=metadata)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as err:
        beneficiaries.RegisterBeneficiary(
            person_request(community_id=community.id), metadata=caller_metadata("", "gestor")
        )
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_malformed_and_oversized_messages_fail_cleanly_and_the_server_keeps_serving(
    grpc_channel: grpc.Channel, beneficiaries, community
) -> None:
    raw = grpc_channel.unary_unary(f"/{SERVICE}/RegisterBeneficiary")  # bytes in, bytes out
    with pytest.raises(grpc.RpcError) as err:
        raw(b"\xff\xff\xff\xff\x0f garbage", metadata=GESTOR, timeout=5)
    assert err.value.code() in {grpc.StatusCode.INTERNAL, grpc.StatusCode.INVALID_ARGUMENT}
    with pytest.raises(grpc.RpcError) as err:
        raw(b"\x12" + b"\xff\xff\xff\x03" + b"x" * (MAX_GRPC_MESSAGE_BYTES + 1024 * 1024), metadata=GESTOR, timeout=10)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    alive = beneficiaries.RegisterBeneficiary(person_request(community_id=community.id), metadata=GESTOR)
    assert alive.id


def test_community_members_are_listed_in_pages(beneficiaries, community) -> None:
    ids = sorted(
        beneficiaries.RegisterBeneficiary(person_request(community_id=community.id), metadata=GESTOR).id
        for _ in range(3)
    )
    first = beneficiaries.ListCommunityMembers(
        pb.ListCommunityMembersRequest(community_id=community.id, limit=2), metadata=KIOSK
    ).beneficiaries
    rest = beneficiaries.ListCommunityMembers(
        pb.ListCommunityMembersRequest(community_id=community.id, limit=2, after_id=first[-1].id), metadata=KIOSK
    ).beneficiaries
    assert [p.id for p in first] + [p.id for p in rest] == ids
    with pytest.raises(grpc.RpcError) as err:
        beneficiaries.ListCommunityMembers(pb.ListCommunityMembersRequest(community_id="nope"), metadata=KIOSK)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_names_of_many_people_and_households_come_in_one_call(beneficiaries, community) -> None:
    home = beneficiaries.RegisterFamily(
        pb.RegisterFamilyRequest(community_id=community.id, name="Hogar Epiayú"), metadata=GESTOR
    )
    people = [
        beneficiaries.RegisterBeneficiary(person_request(family_id=home.id, relationship=r), metadata=GESTOR)
        for r in ("head", "child")
    ]
    found = beneficiaries.LookupNames(
        pb.LookupNamesRequest(beneficiary_ids=[p.id for p in people] + ["desconocido"], family_ids=[home.id, "x"]),
        metadata=GESTOR,
    )
    assert dict(found.beneficiaries) == {p.id: f"{p.first_names} {p.last_names}" for p in people}
    assert dict(found.families) == {home.id: "Hogar Epiayú"}
    with pytest.raises(grpc.RpcError) as err:
        beneficiaries.LookupNames(pb.LookupNamesRequest(beneficiary_ids=[str(i) for i in range(501)]), metadata=GESTOR)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "beneficiary_ids" in field_errors(err.value)
