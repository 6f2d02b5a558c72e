"""Roles and what each may do or see: the one table of access control."""

from __future__ import annotations

ROLES = ("admin", "coordinator", "gestor", "psychosocial", "auditor")

_ALL = set(ROLES)
PERMISSIONS: dict[str, set[str]] = {
    "communities:write": {"admin", "coordinator"},
    "beneficiaries:read": _ALL,
    "beneficiaries:write": {"admin", "coordinator", "gestor"},
    "timeline:read": _ALL,
    # Consent records: who agreed to what, when, recorded by whom.
    "consents:read": {"admin", "coordinator", "gestor", "auditor"},
    "consents:write": {"admin", "coordinator", "gestor"},
    # Enrolment metadata (fingers, template hash). Plain templates never leave
    # the beneficiaries service except over gRPC to a kiosk.
    "biometrics:read": {"admin", "gestor", "auditor"},
    "biometrics:write": {"admin", "gestor"},
    "users:admin": {"admin"},
}


def allowed(role: str, permission: str) -> bool:
    return role in PERMISSIONS[permission]


def redact_beneficiary(data: dict, role: str) -> dict:
    """Drop the fields the role may not see."""
    if not allowed(role, "consents:read"):
        data.pop("consents", None)
    if not allowed(role, "biometrics:read"):
        data.pop("biometrics", None)
    return data
