"""Roles and what each may do or see: the one table of access control."""

from __future__ import annotations

ROLES = ("admin", "coordinator", "gestor", "psychosocial", "auditor")
# Not users: a paired kiosk gets this role from a session signed with its device key.
DEVICE_ROLES = ("kiosk",)

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
    "actas:read": _ALL | {"kiosk"},
    # The community roster with enrolled fingerprint templates, for 1:1 checks offline.
    "kiosk:roster": {"kiosk"},
    "actas:write": {"admin", "coordinator", "gestor", "psychosocial"},
    "documents:read": _ALL,
    # Recompute the whole hash chain (reads every sealed acta).
    "chain:verify": {"admin", "coordinator", "auditor"},
    "devices:read": {"admin", "coordinator", "auditor"},
    "devices:pair": {"admin", "coordinator", "gestor"},
    "devices:revoke": {"admin", "coordinator"},
    "rejections:read": {"admin", "coordinator", "auditor"},
    "rejections:resolve": {"admin", "coordinator"},
    "notifications:send": {"admin", "coordinator", "gestor"},
    "notifications:read": {"admin", "coordinator", "gestor", "auditor"},
}

# Actas whose content only some roles may read; others see that the acta exists,
# who took part and when, but not what was recorded.
RESTRICTED_TEMPLATES: dict[str, set[str]] = {
    "intervencion_psicosocial": {"admin", "psychosocial", "auditor"},
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


def redact_acta(data: dict, role: str) -> dict:
    """Hide the recorded content of restricted actas from roles that may not read it."""
    code = str(data.get("template_key", "")).split("@", 1)[0]
    readers = RESTRICTED_TEMPLATES.get(code)
    if readers is not None and role not in readers:
        data["values"] = {}
        data["redacted"] = True
    return data
