"""Who may call each operation of the beneficiaries service
(``crm.beneficiaries.v1.BeneficiariesService``): the one table. The gRPC server
enforces it before any handler runs; the gateway derives its 403s from it.

- Reading people, households, communities and timelines: every user. Other
  services resolve people and households (actas checks who signs, notifications
  finds whom to write to).
- Registering households and people, moving them, changing contact data and
  consents: admin, coordinator, gestor. Communities: admin and coordinator.
- Biometric enrolment: admin and gestor. Plain fingerprint templates leave the
  service only to a paired kiosk (``GetBiometricTemplate``), which also lists its
  community (``ListCommunityMembers``) to check fingerprints offline.

Finer rules on the record itself: which fields of a person each role sees
(``CONSENT_READERS``, ``BIOMETRIC_READERS``, ``TEMPLATE_HASH_READERS``; the gateway
drops the rest).

Template hashes (``template_sha256`` of an enrolment, and of the template a
fingerprint signature was matched against in an acta) are needed only to match:
a kiosk checks the templates it syncs, an admin investigates. Gestors,
coordinators and auditors see which fingers are enrolled and how an acta was
signed, not the hashes; a gestor who could read the enrolled hash could forge the
evidence a desk signature is checked against.
"""

from __future__ import annotations

from crm_platform.access import ADMIN, AUDITOR, COORDINATOR, GESTOR, KIOSK, SERVICE, USER_ROLES, AccessTable, roles

READERS = roles(USER_ROLES)
WRITERS = roles(ADMIN, COORDINATOR, GESTOR)
COMMUNITY_WRITERS = roles(ADMIN, COORDINATOR)
BIOMETRIC_WRITERS = roles(ADMIN, GESTOR)
TEMPLATE_READERS = roles(KIOSK)

ACCESS: AccessTable = {
    "RegisterCommunity": COMMUNITY_WRITERS,
    "ListCommunities": roles(READERS, SERVICE),
    "RegisterFamily": WRITERS,
    "GetFamily": roles(READERS, SERVICE),
    "ListFamilyMembers": roles(READERS, SERVICE),
    "RegisterBeneficiary": WRITERS,
    "GetBeneficiary": roles(READERS, SERVICE),
    "GetBeneficiaryByNationalId": READERS,
    "SearchBeneficiaries": READERS,
    "ListCommunityMembers": roles(READERS, KIOSK, SERVICE),
    "AddMember": WRITERS,
    "MoveMember": WRITERS,
    "UpdateContact": WRITERS,
    "RecordConsent": WRITERS,
    "WithdrawConsent": WRITERS,
    "StoreBiometricTemplate": BIOMETRIC_WRITERS,
    "GetBiometricTemplate": TEMPLATE_READERS,
    "GetTimeline": READERS,
    "LookupNames": roles(READERS, SERVICE),
}

# Fields of a person only some roles see: consent records (who agreed to what, when,
# recorded by whom) and enrolment metadata (fingers, template hash).
CONSENT_READERS = roles(ADMIN, COORDINATOR, GESTOR, AUDITOR)
BIOMETRIC_READERS = roles(ADMIN, GESTOR, AUDITOR)
TEMPLATE_HASH_READERS = roles(ADMIN, KIOSK)
