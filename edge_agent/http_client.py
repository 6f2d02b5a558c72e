"""The kiosk's HTTP client for the platform gateway (``/api/v1``).

Every failure is translated here, once, into a :class:`PlatformError` whose
message is Spanish and can be shown to the gestor as it is: no connection,
refused credentials, a conflict, or the gateway's own ``{"error", "fields"}``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crm_platform.kiosk_session import session_message

__all__ = ["PlatformClient", "session_message"]

API = "/api/v1"
DEFAULT_TIMEOUT = 15.0


class PlatformError(Exception):
    """The platform refused a request, or could not be reached; the message is for the gestor."""

    def __init__(self, message: str, status: int = 0, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.fields = fields or {}


class Offline(PlatformError):
    """The platform is unreachable (no network, DNS, timeout, gateway down)."""


class Unauthorized(PlatformError):
    """Bad credentials, an expired token, or a device that is unknown or revoked."""


class Forbidden(PlatformError):
    """Authenticated, but not allowed to do this."""


class Conflict(PlatformError):
    """The request clashes with what the platform holds (e.g. a device id already paired)."""


@dataclass(frozen=True)
class Login:
    """A staff session opened with a username and password."""

    username: str
    access_token: str
    role: str


class PlatformClient:
    """Calls the gateway; tokens are passed per call, so one client serves the gestor and the kiosk."""

    def __init__(
        self, base_url: str, *, transport: httpx.BaseTransport | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, transport=transport, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- staff -------------------------------------------------------------------------
    def login(self, username: str, password: str) -> Login:
        data = self._request("POST", "/auth/login", json={"username": username, "password": password})
        return Login(username=username, access_token=str(data["access_token"]), role=str(data.get("role", "")))

    def register_device(
        self, token: str, *, device_id: str, public_key_b64: str, community_id: str, description: str = ""
    ) -> dict[str, Any]:
        body = {"id": device_id, "public_key": public_key_b64, "community_id": community_id, "description": description}
        return self._request("POST", "/devices", token=token, json=body)

    def record_biometric_consent(self, token: str, beneficiary_id: str) -> dict[str, Any]:
        return self._request(
            "POST", f"/beneficiaries/{beneficiary_id}/consents", token=token, json={"kind": "biometrics"}
        )

    def store_biometric(self, token: str, beneficiary_id: str, finger: str, template: bytes) -> str:
        """Send an enrolled template to the beneficiaries service; the sha256 it recorded."""
        body = {"finger": finger, "template_base64": base64.b64encode(template).decode()}
        data = self._request("POST", f"/beneficiaries/{beneficiary_id}/biometrics", token=token, json=body)
        return str(data.get("template_sha256", ""))

    # -- kiosk ---------------------------------------------------------------------------
    def pair_device(self, *, code: str, device_id: str, public_key_b64: str, description: str = "") -> dict[str, Any]:
        """Pair this device with a one-time code a coordinator issued (no staff session)."""
        body = {"code": code, "device_id": device_id, "public_key": public_key_b64, "description": description}
        return self._request("POST", "/kiosk/pairing", json=body)

    def kiosk_session(self, device_id: str, key: Ed25519PrivateKey, now: datetime | None = None) -> str:
        """A kiosk bearer token, proven with the device key. The gateway accepts each
        signed statement once, so the issue time carries microseconds: two sessions
        opened within one second are two statements."""
        issued_at = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")
        signature = key.sign(session_message(device_id, issued_at))
        body = {
            "device_id": device_id,
            "issued_at": issued_at,
            "signature_base64": base64.b64encode(signature).decode(),
        }
        data = self._request("POST", "/kiosk/session", json=body)
        return str(data["access_token"])

    def acta_templates(self, token: str) -> list[dict[str, Any]]:
        data = self._request("GET", "/acta-templates", token=token)
        return list(data.get("templates", []))

    def roster(self, token: str, community_id: str) -> list[dict[str, Any]]:
        """The device's own community (the platform refuses any other)."""
        data = self._request("GET", "/kiosk/roster", token=token, params={"community_id": community_id})
        return list(data.get("beneficiaries", []))

    # -- transport -----------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = self._http.request(method, API + path, json=json, params=params, headers=headers)
        except httpx.TimeoutException:
            raise Offline(f"La plataforma no respondió a tiempo ({self.base_url}).") from None
        except httpx.TransportError as exc:
            raise Offline(f"Sin conexión con la plataforma ({self.base_url}): {exc}") from None
        if response.is_success:
            try:
                data = response.json()
            except ValueError:
                raise PlatformError("La plataforma respondió algo que no es JSON.", response.status_code) from None
            return data if isinstance(data, dict) else {"items": data}
        raise _error(response)


def _error(response: httpx.Response) -> PlatformError:
    """The gateway's error body (``{"error": ..., "fields": {...}}``) as a typed exception."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    detail = str(body.get("error", "")) if isinstance(body, dict) else ""
    raw_fields = body.get("fields") if isinstance(body, dict) else None
    fields = {str(k): str(v) for k, v in raw_fields.items()} if isinstance(raw_fields, dict) else {}
    status = response.status_code
    if status == 401:
        return Unauthorized(detail or "La plataforma no reconoce las credenciales.", status, fields)
    if status == 403:
        return Forbidden(detail or "No tiene permiso para esta operación.", status, fields)
    if status == 409:
        return Conflict(detail or "La operación choca con datos existentes.", status, fields)
    if status in (502, 503, 504):
        return Offline(detail or f"La plataforma no está disponible (HTTP {status}).", status, fields)
    text = detail or f"La plataforma rechazó la solicitud (HTTP {status})."
    if fields:
        text += " " + "; ".join(f"{name}: {problem}" for name, problem in fields.items())
    return PlatformError(text, status, fields)
