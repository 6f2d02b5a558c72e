"""HTTP routes for field kiosks and desk readers: pairing with a one-time code a
coordinator issued, a session proven with the device key (each signed statement
used once), and the roster of the device's own community with the enrolled
fingerprint templates it needs to verify signatures 1:1 while offline."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI, Request

from crm_platform.access import KIOSK, SERVICE
from crm_platform.grpc_support import caller_metadata
from crm_platform.kiosk_session import session_message
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from gateway import auth, errors, schemas
from gateway import responses as R
from gateway.account_routes import client_address
from gateway.deps import Backend, User, to_json
from gateway.kiosk_statements import SeenStatements, StatementReplayed
from gateway.throttle import LoginThrottle, Throttled
from services.beneficiaries.access import ACCESS as BENEFICIARIES

API = "/api/v1"
SESSION_TTL_SECONDS = 3600
MAX_CLOCK_SKEW = timedelta(minutes=5)
ROSTER_PAGE = 200
# Failed pairings are throttled like logins: the "account" is every pairing at once
# (a bound on guessing from many addresses), the client is the caller's address.
PAIRING_ALL = "emparejamientos"
PAIRING_THROTTLED = "Demasiados códigos de emparejamiento incorrectos; espere {seconds} segundos e intente de nuevo"
NOT_PAIRED = "El quiosco no está emparejado con una comunidad; emparéjelo de nuevo con un código del coordinador"


def register(
    app: FastAPI, backend: Backend, tokens: auth.Tokens, statements: SeenStatements, pairings: LoginThrottle
) -> None:
    A, B = backend.actas, backend.beneficiaries
    refused = errors.ApiError(401, "Quiosco no autorizado")

    @app.post(
        f"{API}/kiosk/pairing",
        status_code=201,
        tags=["kiosk"],
        response_model=R.DeviceOut,
        responses=R.failures(400, 401, 409, 413, 429),
    )
    def kiosk_pairing(body: schemas.KioskPairingIn, request: Request) -> dict[str, Any]:
        """A kiosk or desk reader pairs itself with a one-time code issued by a
        coordinator; it is registered for the code's community. No staff session."""
        ip = client_address(request)
        try:
            pairings.check(PAIRING_ALL, ip)
        except Throttled as exc:
            raise Throttled(exc.seconds, PAIRING_THROTTLED.format(seconds=exc.seconds)) from None
        request_pb = apb.PairDeviceRequest(
            code=body.code, device_id=body.device_id, public_key=body.public_key, description=body.description
        )
        try:
            device = A.PairDevice(request_pb, metadata=caller_metadata("gateway", SERVICE), timeout=backend.timeout)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                pairings.failure(PAIRING_ALL, ip)
            raise
        pairings.audit(PAIRING_ALL, ip, "paired", device_id=device.id, community_id=device.community_id)
        return to_json(device)

    @app.post(
        f"{API}/kiosk/session", tags=["kiosk"], response_model=R.KioskSessionOut, responses=R.failures(400, 401, 413)
    )
    def kiosk_session(body: schemas.KioskSessionIn) -> dict[str, Any]:
        """A bearer token for a paired, non-revoked kiosk that signs a fresh
        statement; each statement opens one session only (a replay is refused)."""
        try:
            issued = datetime.fromisoformat(body.issued_at_text)
        except ValueError:
            raise errors.ApiError(400, "Solicitud inválida", {"issued_at": "Fecha y hora ISO-8601 con zona"}) from None
        if issued.tzinfo is None or abs(datetime.now(UTC) - issued) > MAX_CLOCK_SKEW:
            raise errors.ApiError(401, "La hora del quiosco difiere más de 5 minutos; ajuste el reloj")
        try:
            device = A.GetDevice(
                apb.GetDeviceRequest(id=body.device_id),
                metadata=caller_metadata("gateway", SERVICE),
                timeout=backend.timeout,
            )
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise refused from None
            raise
        if device.revoked:
            raise refused
        try:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(device.public_key, validate=True))
            signature = base64.b64decode(body.signature_base64, validate=True)
            key.verify(signature, session_message(device.id, body.issued_at_text))
        except (InvalidSignature, binascii.Error, ValueError):
            raise refused from None
        try:
            statements.use(device.id, body.issued_at_text, issued, signature)
        except StatementReplayed:
            raise errors.ApiError(
                401, "Esta solicitud de sesión ya se usó; el quiosco debe firmar una nueva (posible repetición)"
            ) from None
        kiosk = auth.User(device.id, KIOSK, device.description or device.id)
        return {
            "access_token": tokens.issue(kiosk, SESSION_TTL_SECONDS),
            "token_type": "bearer",
            "expires_in": SESSION_TTL_SECONDS,
            "role": KIOSK,
            "community_id": device.community_id,
        }

    @app.get(
        f"{API}/kiosk/roster",
        tags=["kiosk"],
        response_model=R.RosterOut,
        responses=R.READ,
    )
    def kiosk_roster(user: User, community_id: str = "") -> dict[str, Any]:
        """Everyone in the kiosk's own community, with their enrolled templates
        (base64). ``community_id``, if given, must be that community."""
        auth.require(user, BENEFICIARIES, "ListCommunityMembers", "GetBiometricTemplate")
        device = A.GetDevice(
            apb.GetDeviceRequest(id=user.username),
            metadata=caller_metadata("gateway", SERVICE),
            timeout=backend.timeout,
        )
        if device.revoked:
            raise refused
        if not device.community_id:
            raise errors.ApiError(403, NOT_PAIRED)
        if community_id and community_id != device.community_id:
            raise errors.ApiError(403, "El quiosco solo sincroniza la comunidad para la que fue emparejado")
        community_id = device.community_id
        people: list[dict[str, Any]] = []
        after = ""
        while True:
            page = backend.call(
                B.ListCommunityMembers,
                pb.ListCommunityMembersRequest(community_id=community_id, after_id=after, limit=ROSTER_PAGE),
                user,
            ).beneficiaries
            for person in page:
                people.append(_roster_entry(backend, person, user))
            if len(page) < ROSTER_PAGE:
                break
            after = page[-1].id
        return {"community_id": community_id, "beneficiaries": people}


def device_live(backend: Backend, device_id: str) -> bool:
    """Whether a kiosk's device is still paired: asked on every kiosk request (no
    cache), so a revoked device's token is refused on its next request."""
    try:
        device = backend.actas.GetDevice(
            apb.GetDeviceRequest(id=device_id),
            metadata=caller_metadata("gateway", SERVICE),
            timeout=backend.timeout,
        )
    except grpc.RpcError as exc:
        if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
            return False
        raise
    return not device.revoked


def _roster_entry(backend: Backend, person: pb.Beneficiary, user: auth.User) -> dict[str, Any]:
    data = to_json(person)
    entry = {k: data[k] for k in ("id", "first_names", "last_names", "national_id", "family_id", "can_sign")}
    biometrics = []
    for enrolment in person.biometrics:
        request = pb.GetBiometricTemplateRequest(beneficiary_id=person.id, finger=enrolment.finger)
        template = backend.call(backend.beneficiaries.GetBiometricTemplate, request, user)
        biometrics.append(
            {
                "finger": enrolment.finger,
                "template_sha256": enrolment.template_sha256,
                "template_base64": base64.b64encode(template.template).decode(),
            }
        )
    entry["biometrics"] = biometrics
    return entry
