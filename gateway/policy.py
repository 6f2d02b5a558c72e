"""What the gateway itself decides: which roles a person's account may have, who
may manage accounts, and which JSON fields each role sees.

Who may call each operation of a service is not here: every service owns one
access table (``services/<name>/access.py``) that its gRPC server enforces, and
each route checks the same entry first (``auth.require``), so the gateway and the
services cannot disagree. The role sets that shape JSON below come from those
modules too.
"""

from __future__ import annotations

from crm_platform.access import ADMIN, KIOSK, USER_ROLES, AccessTable, roles
from services.actas.access import CONTENT_READERS
from services.beneficiaries.access import BIOMETRIC_READERS, CONSENT_READERS, TEMPLATE_HASH_READERS

ROLES = USER_ROLES
# Not users: a paired kiosk gets this role from a session signed with its device key.
DEVICE_ROLES = (KIOSK,)

# The gateway's own operations: staff accounts live here, not in a service.
GATEWAY: AccessTable = {
    "CreateUser": roles(ADMIN),
}


def redact_beneficiary(data: dict, role: str) -> dict:
    """Drop the fields the role may not see (plain templates never leave over HTTP)."""
    if role not in CONSENT_READERS:
        data.pop("consents", None)
    if role not in BIOMETRIC_READERS:
        data.pop("biometrics", None)
    for enrolment in data.get("biometrics") or []:
        redact_enrolment(enrolment, role)
    return data


def redact_enrolment(data: dict, role: str) -> dict:
    """An enrolment as a role may see it: the template hash only where it is needed."""
    if role not in TEMPLATE_HASH_READERS:
        data.pop("template_sha256", None)
    return data


def redact_acta(data: dict, role: str) -> dict:
    """Hide the recorded content of restricted actas from roles that may not read
    it, and template hashes from roles that do not match fingerprints."""
    code = str(data.get("template_key", "")).split("@", 1)[0]
    readers = CONTENT_READERS.get(code)
    if readers is not None and role not in readers:
        data["values"] = {}
        if data.get("amendment_reason"):  # why it was corrected tells what it records
            data["amendment_reason"] = ""
        data["redacted"] = True
    if role not in TEMPLATE_HASH_READERS:
        for signature in data.get("signatures") or []:
            (signature.get("fingerprint") or {}).pop("template_sha256", None)
    return data
