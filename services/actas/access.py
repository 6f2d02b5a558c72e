"""Who may call each operation of the actas service (``crm.actas.v1.ActasService``):
the one table. The gRPC server enforces it before any handler runs; the use cases
that take an ``Actor`` check the same entries; the gateway derives its 403s from it.

- Templates: every user, and a kiosk (it captures actas offline from them); other
  services read them to render documents.
- Capture, signing, sealing and amendments (the desk flow): admin, coordinator,
  gestor, income adviser (the follow-up actas of productive units) and
  psychosocial staff. Auditors read, they never write.
- Reading actas (by id, by filter, counts, one acta's verification): every user;
  the documents service reads an acta to render it, and the reports service lists
  sealed actas to rebuild its projection (``crm-reports-backfill``); ``VerifyActa`` also answers the
  public page a printed acta's QR code opens (validity and hash, no personal data).
  A kiosk reads templates only: it never browses actas.
- Recomputing the whole chain (``VerifyChain``): admin, coordinator, auditor.
- Signed chain heads: publishing one on demand (``PublishChainHead``): admin,
  coordinator, auditor. Reading the latest head and the operator's public key:
  everyone, the public included: a head holds no personal data, and the point of
  it is that anyone (an auditor, the community) can download and keep it.
- **Devices and rejected submissions are operational and security data** (which
  kiosks may submit, what was refused and why): admin, coordinator and auditor
  read them; admin and coordinator write (revoke a kiosk, resolve a rejection).
  **Pairing is approved by a coordinator**: admin and coordinator issue a one-time
  pairing code for one community (``IssuePairingCode``) or register a device
  directly; the device pairs itself with the code through the gateway
  (``PairDevice``, called by the gateway as a service: the code is the credential).
  A gestor cannot register a key of their own as a device, since a device reads
  its community's fingerprint templates. Psychosocial staff have no part in it.
- ``GetDevice`` (a kiosk's public key and state): the gateway, as a service, when a
  kiosk opens a session; and whoever may list devices.
- ``PutStaffProfile`` (a staff account's name, document and title, shown on the
  actas they sign): the gateway, as a service, when it creates the account.

Finer rules on the record itself: psychosocial-intervention content is shown only to
``CONTENT_READERS[template code]`` (the gateway redacts it for everyone else), a
gestor signs only with their own session (``desk``), and a sealed acta is corrected
(``AmendActa``) only by the gestor who captured it or by an admin or coordinator
(``AMEND_ANY``), and a restricted one only by those of them who may read its content
(``amend_denial``).
"""

from __future__ import annotations

from collections.abc import Mapping

from crm_platform.access import (
    ADMIN,
    AUDITOR,
    COORDINATOR,
    GESTOR,
    INCOME_ADVISER,
    KIOSK,
    PSYCHOSOCIAL,
    PUBLIC,
    RESTRICTED_CONTENT_READERS,
    SERVICE,
    USER_ROLES,
    AccessTable,
    may_read_content,
    roles,
)

READERS = roles(USER_ROLES)
WRITERS = roles(ADMIN, COORDINATOR, GESTOR, INCOME_ADVISER, PSYCHOSOCIAL)
CHAIN_AUDITORS = roles(ADMIN, COORDINATOR, AUDITOR)
DEVICE_READERS = roles(ADMIN, COORDINATOR, AUDITOR)
DEVICE_ADMINS = roles(ADMIN, COORDINATOR)

ACCESS: AccessTable = {
    # templates
    "ListTemplates": roles(READERS, KIOSK, SERVICE),
    "GetTemplate": roles(READERS, KIOSK, SERVICE),
    # desk flow
    "CreateActa": WRITERS,
    "SignActa": WRITERS,
    "SealActa": WRITERS,
    "AmendActa": WRITERS,
    # queries
    "GetActa": roles(READERS, SERVICE),
    "ListActas": roles(READERS, SERVICE),
    "CountActas": READERS,
    # tamper evidence
    "VerifyChain": CHAIN_AUDITORS,
    "VerifyActa": roles(READERS, PUBLIC),
    "PublishChainHead": CHAIN_AUDITORS,
    "GetLatestChainHead": roles(READERS, PUBLIC),
    "GetChainPublicKey": roles(READERS, PUBLIC),
    # kiosk devices
    "RegisterDevice": DEVICE_ADMINS,
    "IssuePairingCode": DEVICE_ADMINS,
    "PairDevice": roles(SERVICE),
    "RevokeDevice": DEVICE_ADMINS,
    "GetDevice": roles(DEVICE_READERS, SERVICE),
    "ListDevices": DEVICE_READERS,
    # rejected kiosk submissions
    "ListRejectedSubmissions": DEVICE_READERS,
    "ResolveRejectedSubmission": DEVICE_ADMINS,
    # staff profiles: the gateway, when it creates an account
    "PutStaffProfile": roles(SERVICE),
}

# Templates whose recorded content only some roles may read; others see that the
# acta exists, who took part and when, but not what was recorded. The table lives in
# ``crm_platform.access`` (``RESTRICTED_CONTENT_READERS``) so that the documents and
# notifications services apply the same rule without importing the actas service.
CONTENT_READERS: Mapping[str, frozenset[str]] = RESTRICTED_CONTENT_READERS

# Who may correct any sealed acta, not only those they captured themselves.
AMEND_ANY = roles(ADMIN, COORDINATOR)


def create_denial(role: str, template_key: str) -> str:
    """Why ``role`` may not capture an acta from ``template_key``; "" when it may.
    Only those who may read a restricted template's content record it: a gestor
    who could not read back what they wrote has no business writing it."""
    if not may_read_content(role, template_key):
        return "Esta acta es reservada: solo la registra quien puede leer su contenido"
    return ""


def amend_denial(subject: str, role: str, gestor_id: str, template_key: str) -> str:
    """Why ``subject`` (with ``role``) may not correct a sealed acta captured by
    ``gestor_id`` from ``template_key``; "" when they may."""
    if not may_read_content(role, template_key):
        return "Esta acta es reservada: solo la corrige quien puede leer su contenido"
    if subject != gestor_id and role not in AMEND_ANY:
        return "Solo el gestor que capturó el acta, o un coordinador, puede corregirla"
    return ""
