"""The HTTP API: FastAPI routes that authenticate, authorise, translate to gRPC
and back. Business rules live in the services."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

import pymongo
from fastapi import FastAPI, Path, Request

from crm_platform.access import KIOSK
from crm_platform.limits import MAX_ATTACHMENT_BYTES
from crm_platform.mongo import DURABLE_WRITES
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from gateway import (
    account_routes,
    actas_routes,
    auth,
    catalogs,
    chain_routes,
    docs,
    errors,
    financial_routes,
    income_routes,
    kiosk_routes,
    loan_routes,
    notifications_routes,
    reports_routes,
    schemas,
    throttle,
    webhooks_routes,
    workflow_routes,
)
from gateway import responses as R
from gateway.config import GatewaySettings
from gateway.deps import Backend, User, to_json
from gateway.kiosk_statements import SeenStatements
from gateway.middleware import BodySizeLimit, SecurityHeaders
from gateway.policy import GATEWAY, redact_beneficiary, redact_enrolment
from gateway.web import app as web
from services.beneficiaries.access import ACCESS as BENEFICIARIES

API = "/api/v1"
ConsentKind = catalogs.param("consentimiento", where=Path, optional=False)


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings.from_env()
    mongo: pymongo.MongoClient = pymongo.MongoClient(settings.mongo_uri, tz_aware=True, **DURABLE_WRITES)
    db = mongo[settings.db_name]
    users = auth.UserStore(db["users"])
    revoked = auth.RevokedTokens(db["revoked_tokens"])
    backend = Backend(settings)

    def backoff(free_failures: int) -> throttle.Backoff:
        return throttle.Backoff(
            free_failures, settings.login_lock_seconds, settings.login_max_lock_seconds, settings.login_window_seconds
        )

    logins = throttle.LoginThrottle(
        db["login_throttle"],
        db["login_audit"],
        account=backoff(settings.login_free_failures),
        client=backoff(settings.login_client_free_failures),
    )

    # Failed pairing codes: 10 in total or 5 from one address before exponential locks.
    pairings = throttle.LoginThrottle(
        db["pairing_throttle"], db["pairing_audit"], account=backoff(10), client=backoff(5)
    )
    statements = SeenStatements(db["kiosk_session_statements"], kiosk_routes.MAX_CLOCK_SKEW)

    def live(claims: dict[str, Any]) -> bool:
        """Asked on every authenticated request: has this token been revoked?"""
        if claims["role"] == KIOSK:
            return not revoked.is_revoked(claims["jti"]) and kiosk_routes.device_live(backend, claims["sub"])
        return users.session_live(claims["sub"], claims.get("ver"), claims["jti"])

    tokens = auth.Tokens(settings.jwt_secret, settings.token_ttl_seconds, live)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        users.ensure_admin(settings.admin_password)
        threading.Thread(target=web.warm_up, name="web-warm-up", daemon=True).start()
        revoked.ensure_indexes()
        logins.ensure_indexes()
        pairings.ensure_indexes()
        statements.ensure_indexes()
        try:
            yield
        finally:
            backend.close()
            mongo.close()

    app = FastAPI(
        title="CRM Social API",
        version="1.0.0",
        description="API de CRM Social: comunidades, hogares y beneficiarios.",
        lifespan=lifespan,
        # /docs and /redoc are gateway.docs's: assets served locally, no inline script.
        docs_url=None,
        redoc_url=None,
        # FastAPI's native OpenTelemetry spans use the tracer provider that
        # crm_platform.telemetry installed; probes are left out of the traces.
        telemetry={"exclude": lambda scope: scope.get("path") == "/healthz"},
    )
    docs.install(app)
    errors.install(app)
    # Signature images and photos are larger than any other body.
    # A photo's limit is the attachment limit's base64 text plus room for the JSON.
    # The web app's new-acta form carries a photo as a file (multipart, not base64),
    # its signing form a drawn signature as base64.
    uploads = {
        f"{API}/attachments": schemas.MAX_ATTACHMENT_BASE64 + 4096,
        f"{API}/actas": 512 * 1024,
        "/app/actas/nueva": MAX_ATTACHMENT_BYTES + 64 * 1024,
        "/app/actas/": 512 * 1024,
    }
    photo = {f"{API}/attachments": schemas.PHOTO_TOO_LARGE}
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, larger=uploads, messages=photo)
    app.add_middleware(SecurityHeaders)
    app.state.tokens = tokens
    web_app = web.WebApp(backend, users, tokens, logins, settings)

    B = backend.beneficiaries

    def person(message: pb.Beneficiary, user: auth.User) -> dict[str, Any]:
        return redact_beneficiary(to_json(message), user.role)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(f"{API}/catalogos", tags=["catalogos"], response_model=R.CatalogsOut)
    def code_lists() -> dict[str, Any]:
        """The code lists (sexo, parentesco, dedo...) with the Spanish label of each
        code; inputs take either. No token needed: nothing personal."""
        return R.catalogs_body()

    # -- authentication (login, logout, password, deactivation: account_routes) ----
    account_routes.register(app, users, tokens, revoked, logins)

    @app.post(
        f"{API}/users",
        status_code=201,
        tags=["auth"],
        response_model=R.UserOut,
        responses=R.failures(400, 401, 403, 409, 413),
    )
    def create_user(body: schemas.CreateUserRequest, user: User) -> dict[str, Any]:
        auth.require(user, GATEWAY, "CreateUser")
        created = users.create(body.username, body.password, body.role, body.full_name, body.document, body.title)
        actas_routes.put_staff_profile(backend, created)
        return {
            "username": created.username,
            "role": created.role,
            "full_name": created.full_name,
            "document": created.document,
            "title": created.title,
        }

    # -- communities and families -----------------------------------------------
    @app.get(f"{API}/communities", tags=["beneficiaries"], response_model=R.CommunitiesOut, responses=R.LIST)
    def list_communities(user: User) -> dict[str, Any]:
        auth.require(user, BENEFICIARIES, "ListCommunities")
        return to_json(backend.call(B.ListCommunities, pb.ListCommunitiesRequest(), user))

    @app.post(
        f"{API}/communities", status_code=201, tags=["beneficiaries"], response_model=R.CommunityOut, responses=R.WRITE
    )
    def register_community(body: schemas.CommunityIn, user: User) -> dict[str, Any]:
        auth.require(user, BENEFICIARIES, "RegisterCommunity")
        return to_json(backend.call(B.RegisterCommunity, pb.RegisterCommunityRequest(**body.model_dump()), user))

    @app.post(f"{API}/families", status_code=201, tags=["beneficiaries"], response_model=R.FamilyOut, responses=R.WRITE)
    def register_family(body: schemas.FamilyIn, user: User) -> dict[str, Any]:
        auth.require(user, BENEFICIARIES, "RegisterFamily")
        return to_json(backend.call(B.RegisterFamily, pb.RegisterFamilyRequest(**body.model_dump()), user))

    @app.get(f"{API}/families/{{family_id}}", tags=["beneficiaries"], response_model=R.FamilyOut, responses=R.READ)
    def get_family(family_id: str, user: User) -> dict[str, Any]:
        auth.require(user, BENEFICIARIES, "GetFamily")
        return to_json(backend.call(B.GetFamily, pb.GetFamilyRequest(id=family_id), user))

    @app.get(
        f"{API}/families/{{family_id}}/members", tags=["beneficiaries"], response_model=R.MembersOut, responses=R.READ
    )
    def list_members(family_id: str, user: User) -> dict[str, Any]:
        auth.require(user, BENEFICIARIES, "ListFamilyMembers")
        reply = backend.call(B.ListFamilyMembers, pb.ListFamilyMembersRequest(family_id=family_id), user)
        return {"members": [person(m, user) for m in reply.members]}

    @app.post(
        f"{API}/families/{{family_id}}/members",
        tags=["beneficiaries"],
        response_model=R.BeneficiaryOut,
        responses=R.WRITE,
    )
    def add_member(family_id: str, body: schemas.MemberIn, user: User) -> dict[str, Any]:
        auth.require(user, BENEFICIARIES, "AddMember")
        request = pb.AddMemberRequest(family_id=family_id, **body.model_dump())
        return person(backend.call(B.AddMember, request, user), user)

    @app.get(
        f"{API}/families/{{family_id}}/timeline", tags=["timeline"], response_model=R.TimelineOut, responses=R.READ
    )
    def family_timeline(family_id: str, user: User, limit: schemas.PageLimit = 100) -> dict[str, Any]:
        auth.require(user, BENEFICIARIES, "GetTimeline")
        request = pb.GetTimelineRequest(subject_type="family", subject_id=family_id, limit=limit)
        return to_json(backend.call(B.GetTimeline, request, user))

    # -- beneficiaries ------------------------------------------------------------
    @app.post(
        f"{API}/beneficiaries",
        status_code=201,
        tags=["beneficiaries"],
        response_model=R.BeneficiaryOut,
        responses=R.WRITE,
    )
    def register_beneficiary(body: schemas.BeneficiaryIn, user: User) -> dict[str, Any]:
        auth.require(user, BENEFICIARIES, "RegisterBeneficiary")
        data = body.model_dump()
        request = pb.RegisterBeneficiaryRequest(**{**data, "national_id": pb.NationalId(**data["national_id"])})
        return person(backend.call(B.RegisterBeneficiary, request, user), user)

    @app.get(f"{API}/beneficiaries", tags=["beneficiaries"], response_model=R.BeneficiariesOut, responses=R.READ)
    def find_beneficiaries(
        user: User,
        q: str = "",
        community_id: str = "",
        national_id_type: catalogs.param("tipo_documento") = "",  # type: ignore[valid-type]
        national_id_number: str = "",
        limit: schemas.PageLimit = 20,
    ) -> dict[str, Any]:
        """Search by name prefix (``q``) or look up one national ID."""
        by_id = bool(national_id_type or national_id_number)
        auth.require(user, BENEFICIARIES, "GetBeneficiaryByNationalId" if by_id else "SearchBeneficiaries")
        if by_id:
            request = pb.GetBeneficiaryByNationalIdRequest(
                national_id=pb.NationalId(type=national_id_type, number=national_id_number)
            )
            return {"beneficiaries": [person(backend.call(B.GetBeneficiaryByNationalId, request, user), user)]}
        search = pb.SearchBeneficiariesRequest(query=q, community_id=community_id, limit=limit)
        reply = backend.call(B.SearchBeneficiaries, search, user)
        return {"beneficiaries": [person(p, user) for p in reply.beneficiaries]}

    @app.get(
        f"{API}/beneficiaries/{{beneficiary_id}}",
        tags=["beneficiaries"],
        response_model=R.BeneficiaryOut,
        responses=R.READ,
    )
    def get_beneficiary(beneficiary_id: str, user: User) -> dict[str, Any]:
        auth.require(user, BENEFICIARIES, "GetBeneficiary")
        return person(backend.call(B.GetBeneficiary, pb.GetBeneficiaryRequest(id=beneficiary_id), user), user)

    @app.patch(
        f"{API}/beneficiaries/{{beneficiary_id}}/contact",
        tags=["beneficiaries"],
        response_model=R.BeneficiaryOut,
        responses=R.WRITE,
    )
    def update_contact(beneficiary_id: str, body: schemas.ContactIn, user: User) -> dict[str, Any]:
        auth.require(user, BENEFICIARIES, "UpdateContact")
        fields = {k: v for k, v in body.model_dump().items() if v is not None}
        channels = fields.pop("contact_channels", None)
        request = pb.UpdateContactRequest(beneficiary_id=beneficiary_id, **fields)
        if channels is not None:
            request.contact_channels.CopyFrom(pb.ContactChannels(channels=channels))
        return person(backend.call(B.UpdateContact, request, user), user)

    @app.post(
        f"{API}/beneficiaries/{{beneficiary_id}}/move",
        tags=["beneficiaries"],
        response_model=R.BeneficiaryOut,
        responses=R.WRITE,
    )
    def move_member(beneficiary_id: str, body: schemas.MoveIn, user: User) -> dict[str, Any]:
        auth.require(user, BENEFICIARIES, "MoveMember")
        request = pb.MoveMemberRequest(beneficiary_id=beneficiary_id, **body.model_dump())
        return person(backend.call(B.MoveMember, request, user), user)

    @app.post(
        f"{API}/beneficiaries/{{beneficiary_id}}/consents",
        tags=["consents"],
        response_model=R.BeneficiaryOut,
        responses=R.WRITE,
    )
    def record_consent(beneficiary_id: str, body: schemas.ConsentIn, user: User) -> dict[str, Any]:
        auth.require(user, BENEFICIARIES, "RecordConsent")
        request = pb.RecordConsentRequest(beneficiary_id=beneficiary_id, kind=body.kind)
        return person(backend.call(B.RecordConsent, request, user), user)

    @app.delete(
        f"{API}/beneficiaries/{{beneficiary_id}}/consents/{{kind}}",
        tags=["consents"],
        response_model=R.BeneficiaryOut,
        responses=R.ACTION,
    )
    def withdraw_consent(beneficiary_id: str, kind: ConsentKind, user: User) -> dict[str, Any]:  # type: ignore[valid-type]
        auth.require(user, BENEFICIARIES, "WithdrawConsent")
        request = pb.WithdrawConsentRequest(beneficiary_id=beneficiary_id, kind=kind)
        return person(backend.call(B.WithdrawConsent, request, user), user)

    @app.post(
        f"{API}/beneficiaries/{{beneficiary_id}}/biometrics",
        status_code=201,
        tags=["biometrics"],
        response_model=R.BiometricEnrolmentOut,
        responses=R.WRITE,
    )
    def store_template(beneficiary_id: str, body: schemas.BiometricIn, user: User) -> dict[str, Any]:
        auth.require(user, BENEFICIARIES, "StoreBiometricTemplate")
        template = schemas.decode_base64(body.template_base64, "template_base64")
        request = pb.StoreBiometricTemplateRequest(beneficiary_id=beneficiary_id, finger=body.finger, template=template)
        return redact_enrolment(to_json(backend.call(B.StoreBiometricTemplate, request, user)), user.role)

    @app.get(
        f"{API}/beneficiaries/{{beneficiary_id}}/timeline",
        tags=["timeline"],
        response_model=R.TimelineOut,
        responses=R.READ,
    )
    def person_timeline(beneficiary_id: str, user: User, limit: schemas.PageLimit = 100) -> dict[str, Any]:
        auth.require(user, BENEFICIARIES, "GetTimeline")
        request = pb.GetTimelineRequest(subject_type="beneficiary", subject_id=beneficiary_id, limit=limit)
        return to_json(backend.call(B.GetTimeline, request, user))

    @app.middleware("http")
    async def no_store(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        if request.url.path.startswith(API):
            response.headers["Cache-Control"] = "no-store"
        return response

    actas_routes.register(app, backend)
    chain_routes.register(app, backend)
    kiosk_routes.register(app, backend, tokens, statements, pairings)
    notifications_routes.register(app, backend)
    reports_routes.register(app, backend)
    income_routes.register(app, backend)
    loan_routes.register(app, backend)
    financial_routes.register(app, backend)
    workflow_routes.register(app, backend)
    webhooks_routes.register(app, backend)
    web.install(app, web_app)  # the staff web app under /app
    return app
