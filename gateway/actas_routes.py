"""HTTP routes of actas, their documents, kiosk devices, rejected submissions and
the public verification page a PDF's QR code points to."""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from typing import Any, Literal

import grpc
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.access import PUBLIC, SERVICE
from crm_platform.dates import spanish_date
from crm_platform.grpc_support import caller_metadata
from crm_platform.limits import MAX_ATTACHMENT_BYTES
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.actas.v1 import submission_pb2 as sub_pb
from crm_platform.proto_gen.crm.documents.v1 import documents_pb2 as dpb
from gateway import auth, catalogs, chain_routes, errors, schemas
from gateway import responses as R
from gateway import responses_actas as RA
from gateway.deps import Backend, User, to_json
from gateway.policy import redact_acta
from services.actas.access import ACCESS as ACTAS
from services.documents.access import ACCESS as DOCUMENTS

API = "/api/v1"
log = logging.getLogger(__name__)


def _struct(values: dict[str, Any], field: str) -> Struct:
    schemas.refuse_non_finite(values, field)
    out = Struct()
    try:
        out.update(values)
    except (TypeError, ValueError):
        raise errors.ApiError(400, "Solicitud inválida", {field: "Valores no representables"}) from None
    return out


def _ts(moment: datetime | None) -> Timestamp | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise errors.ApiError(400, "Solicitud inválida", {"captured_at": "Incluya la zona horaria (p. ej. -05:00)"})
    out = Timestamp()
    out.FromDatetime(moment)
    return out


def _profile(user: auth.User) -> apb.StaffProfile:
    """The caller as their account names them: snapshotted on the acta they sign."""
    return apb.StaffProfile(full_name=user.full_name, document=user.document, title=user.title)


def put_staff_profile(backend: Backend, user: auth.User) -> None:
    """Tell the actas service who a new account is, so that actas a kiosk captures
    for them carry their name. Best effort: the account exists either way, and the
    actas service also learns the profile from the first acta they make at a desk."""
    request = apb.PutStaffProfileRequest(username=user.username, profile=_profile(user))
    try:
        backend.actas.PutStaffProfile(request, metadata=caller_metadata("gateway", SERVICE), timeout=backend.timeout)
    except grpc.RpcError as exc:
        log.warning("staff profile of %s not recorded in the actas service: %s", user.username, exc.code())


def register(app: FastAPI, backend: Backend) -> None:
    A, D = backend.actas, backend.documents

    def acta(message: apb.Acta, user: auth.User) -> dict[str, Any]:
        return redact_acta(to_json(message), user.role)

    # -- templates ---------------------------------------------------------------
    @app.get(f"{API}/acta-templates", tags=["actas"], response_model=RA.TemplatesOut, responses=R.LIST)
    def list_templates(user: User) -> dict[str, Any]:
        auth.require(user, ACTAS, "ListTemplates")
        return to_json(backend.call(A.ListTemplates, apb.ListTemplatesRequest(), user))

    @app.get(f"{API}/acta-templates/{{key}}", tags=["actas"], response_model=RA.TemplateOut, responses=R.READ)
    def get_template(key: str, user: User) -> dict[str, Any]:
        auth.require(user, ACTAS, "GetTemplate")
        return to_json(backend.call(A.GetTemplate, apb.GetTemplateRequest(key=key), user))

    # -- desk flow ---------------------------------------------------------------
    @app.post(f"{API}/actas", status_code=201, tags=["actas"], response_model=RA.ActaOut, responses=R.WRITE)
    def create_acta(body: schemas.ActaIn, user: User) -> dict[str, Any]:
        auth.require(user, ACTAS, "CreateActa")
        request = apb.CreateActaRequest(
            template_key=body.template_key,
            values=_struct(body.values, "values"),
            community_id=body.community_id,
            captured_at=_ts(body.captured_at),
            gestor=_profile(user),
        )
        return acta(backend.call(A.CreateActa, request, user), user)

    @app.post(f"{API}/actas/{{acta_id}}/signatures", tags=["actas"], response_model=RA.ActaOut, responses=R.WRITE)
    def sign_acta(acta_id: str, body: schemas.SignatureIn, user: User) -> dict[str, Any]:
        auth.require(user, ACTAS, "SignActa")
        request = apb.SignActaRequest(acta_id=acta_id, signer_id=body.signer_id)
        if body.method == "fingerprint":
            if body.fingerprint is None:
                raise errors.ApiError(400, "Solicitud inválida", {"fingerprint": "Falta la evidencia de la huella"})
            evidence = body.fingerprint
            request.fingerprint.CopyFrom(
                sub_pb.FingerprintEvidence(
                    score=evidence.score,
                    finger=evidence.finger,
                    sensor_id=evidence.sensor_id,
                    mode=evidence.mode,
                    template_sha256=evidence.template_sha256,
                    matched_at=_ts(evidence.matched_at),
                    device_id=evidence.device_id,
                    device_signature=schemas.decode_base64(evidence.signature_base64, "fingerprint.signature_base64"),
                )
            )
        elif body.method == "handwritten":
            request.handwritten_png = schemas.decode_base64(body.handwritten_png_base64, "handwritten_png_base64")
        elif body.method == "refused":
            request.refusal_reason = body.refusal_reason or " "
        elif body.signer_id and body.signer_id != user.username:
            raise errors.ApiError(400, "Solicitud inválida", {"method": "Solo el gestor firma electrónicamente"})
        return acta(backend.call(A.SignActa, request, user), user)

    @app.post(f"{API}/actas/{{acta_id}}/seal", tags=["actas"], response_model=RA.ActaOut, responses=R.ACTION)
    def seal_acta(acta_id: str, user: User) -> dict[str, Any]:
        auth.require(user, ACTAS, "SealActa")
        return acta(backend.call(A.SealActa, apb.SealActaRequest(acta_id=acta_id), user), user)

    @app.post(
        f"{API}/actas/{{acta_id}}/amendments",
        status_code=201,
        tags=["actas"],
        response_model=RA.ActaOut,
        responses=R.WRITE,
    )
    def amend_acta(acta_id: str, body: schemas.AmendmentIn, user: User) -> dict[str, Any]:
        auth.require(user, ACTAS, "AmendActa")
        request = apb.AmendActaRequest(
            acta_id=acta_id, changes=_struct(body.changes, "changes"), reason=body.reason, signer=_profile(user)
        )
        return acta(backend.call(A.AmendActa, request, user), user)

    # -- queries -----------------------------------------------------------------
    @app.get(f"{API}/actas", tags=["actas"], response_model=RA.ActasOut, responses=R.QUERY)
    def list_actas(
        user: User,
        beneficiary_id: str = "",
        family_id: str = "",
        gestor_id: str = "",
        template_code: str = "",
        status: catalogs.param("estado_acta") = "",  # type: ignore[valid-type]
        captured_from: datetime | None = None,
        captured_to: datetime | None = None,
        limit: schemas.PageLimit = 50,
    ) -> dict[str, Any]:
        auth.require(user, ACTAS, "ListActas")
        request = apb.ListActasRequest(
            beneficiary_id=beneficiary_id,
            family_id=family_id,
            gestor_id=gestor_id,
            template_code=template_code,
            status=status,
            captured_from=_ts(captured_from),
            captured_to=_ts(captured_to),
            limit=limit,
        )
        return {"actas": [acta(a, user) for a in backend.call(A.ListActas, request, user).actas]}

    @app.get(f"{API}/actas/{{acta_id}}", tags=["actas"], response_model=RA.ActaOut, responses=R.READ)
    def get_acta(acta_id: str, user: User) -> dict[str, Any]:
        auth.require(user, ACTAS, "GetActa")
        return acta(backend.call(A.GetActa, apb.GetActaRequest(id=acta_id), user), user)

    @app.get(f"{API}/acta-counts", tags=["reports"], response_model=RA.CountsOut, responses=R.QUERY)
    def count_actas(
        user: User,
        group_by: Literal["template", "gestor", "community", "week"] = "template",
        status: Literal["draft", "signed", "sealed", "todos"] = "sealed",
        include_corrections: bool = False,
        captured_from: datetime | None = None,
        captured_to: datetime | None = None,
    ) -> dict[str, Any]:
        """Sealed originals by default: drafts are work in progress and a correction
        counts the same activity again. ``status=todos`` counts every status."""
        auth.require(user, ACTAS, "CountActas")
        request = apb.CountActasRequest(
            group_by=group_by,
            status=status,
            include_corrections=include_corrections,
            captured_from=_ts(captured_from),
            captured_to=_ts(captured_to),
        )
        return to_json(backend.call(A.CountActas, request, user))

    # -- verification ------------------------------------------------------------
    @app.get(
        f"{API}/actas/{{acta_id}}/verification",
        tags=["verification"],
        response_model=RA.ActaVerificationOut,
        responses=R.READ,
    )
    def verify_acta(acta_id: str, user: User) -> dict[str, Any]:
        auth.require(user, ACTAS, "VerifyActa")
        return to_json(backend.call(A.VerifyActa, apb.VerifyActaRequest(acta_id=acta_id), user))

    @app.get(
        f"{API}/chain/verification", tags=["verification"], response_model=RA.ChainVerificationOut, responses=R.LIST
    )
    def verify_chain(user: User) -> dict[str, Any]:
        auth.require(user, ACTAS, "VerifyChain")
        return to_json(backend.call(A.VerifyChain, apb.VerifyChainRequest(), user))

    @app.get("/verificar/{acta_id}", response_class=HTMLResponse, include_in_schema=False)
    def public_verification(acta_id: str) -> HTMLResponse:
        """What a QR code on a printed acta opens: validity and hash, no personal data."""
        metadata = caller_metadata("verificacion-publica", PUBLIC)
        try:
            reply = A.VerifyActa(apb.VerifyActaRequest(acta_id=acta_id), metadata=metadata, timeout=backend.timeout)
        except Exception:
            return HTMLResponse(_page("Acta no encontrada", "No existe un acta sellada con ese número.", False), 404)
        corrections = _corrections_html(reply)
        if reply.valid:
            number = html.escape(reply.folio or acta_id)
            detail = (
                f"El acta {number} está sellada y su contenido no ha sido alterado desde que se selló.<br>"
                + (f"Folio: {html.escape(reply.folio)}<br>" if reply.folio else "")
                + f"Huella SHA-256: <code>{reply.content_hash}</code><br>Posición en la cadena: {reply.chain_seq}"
            )
            detail += chain_routes.head_section(backend, reply.chain_seq)
            return HTMLResponse(_page("Acta válida", detail + corrections, True))
        problems = "".join(f"<li>{html.escape(p.detail)}</li>" for p in reply.problems)
        detail = f"Se encontraron problemas:<ul>{problems}</ul>"
        return HTMLResponse(_page("Acta con problemas", detail + corrections, False), 409)

    # -- documents ---------------------------------------------------------------
    @app.get(
        f"{API}/actas/{{acta_id}}/document", tags=["documents"], response_model=RA.ActaDocumentOut, responses=R.READ
    )
    def acta_document(acta_id: str, user: User, ttl_seconds: schemas.LinkTtl = 900) -> dict[str, Any]:
        auth.require(user, DOCUMENTS, "GetActaDocument")
        request = dpb.GetActaDocumentRequest(acta_id=acta_id, link_ttl_seconds=ttl_seconds)
        return to_json(backend.call(D.GetActaDocument, request, user))

    @app.post(
        f"{API}/attachments", status_code=201, tags=["documents"], response_model=RA.AttachmentOut, responses=R.WRITE
    )
    def put_attachment(body: schemas.AttachmentIn, user: User) -> dict[str, Any]:
        """A photo for an acta's photo field; the field then names it by ``sha256``."""
        auth.require(user, DOCUMENTS, "PutAttachment")
        if len(body.content_base64) > schemas.MAX_ATTACHMENT_BASE64:
            raise errors.ApiError(413, schemas.PHOTO_TOO_LARGE)
        content = schemas.decode_base64(body.content_base64, "content_base64")
        if len(content) > MAX_ATTACHMENT_BYTES:
            raise errors.ApiError(413, schemas.PHOTO_TOO_LARGE)
        request = dpb.PutAttachmentRequest(content=content, content_type=body.content_type)
        return to_json(backend.call(D.PutAttachment, request, user))

    @app.get(f"{API}/attachments/{{sha256}}", tags=["documents"], response_model=RA.AttachmentOut, responses=R.READ)
    def get_attachment(sha256: str, user: User, ttl_seconds: schemas.LinkTtl = 900) -> dict[str, Any]:
        auth.require(user, DOCUMENTS, "GetAttachment")
        request = dpb.GetAttachmentRequest(sha256=sha256, link_ttl_seconds=ttl_seconds)
        return to_json(backend.call(D.GetAttachment, request, user))

    # -- kiosk devices and rejected submissions ------------------------------------
    @app.get(f"{API}/devices", tags=["devices"], response_model=R.DevicesOut, responses=R.LIST)
    def list_devices(user: User) -> dict[str, Any]:
        auth.require(user, ACTAS, "ListDevices")
        return to_json(backend.call(A.ListDevices, apb.ListDevicesRequest(), user))

    @app.post(f"{API}/devices", status_code=201, tags=["devices"], response_model=R.DeviceOut, responses=R.WRITE)
    def register_device(body: schemas.DeviceIn, user: User) -> dict[str, Any]:
        """A coordinator registers a device whose key they hold; usually a device
        pairs itself with a code instead (``POST /pairing-codes``)."""
        auth.require(user, ACTAS, "RegisterDevice")
        return to_json(backend.call(A.RegisterDevice, apb.RegisterDeviceRequest(**body.model_dump()), user))

    @app.post(
        f"{API}/pairing-codes",
        status_code=201,
        tags=["devices"],
        response_model=schemas.PairingCodeOut,
        responses=R.WRITE,
    )
    def issue_pairing_code(body: schemas.PairingCodeIn, user: User) -> dict[str, Any]:
        """A one-time code (valid 24 h) that pairs one kiosk or desk reader with one
        community; the operator types it on the device (``crm-kiosk pair``)."""
        auth.require(user, ACTAS, "IssuePairingCode")
        request = apb.IssuePairingCodeRequest(community_id=body.community_id, description=body.description)
        return to_json(backend.call(A.IssuePairingCode, request, user))

    @app.delete(f"{API}/devices/{{device_id}}", tags=["devices"], response_model=R.DeviceOut, responses=R.ACTION)
    def revoke_device(device_id: str, user: User) -> dict[str, Any]:
        auth.require(user, ACTAS, "RevokeDevice")
        return to_json(backend.call(A.RevokeDevice, apb.RevokeDeviceRequest(id=device_id), user))

    @app.get(
        f"{API}/rejected-submissions", tags=["devices"], response_model=R.RejectedSubmissionsOut, responses=R.QUERY
    )
    def list_rejections(user: User, include_resolved: bool = False, limit: schemas.PageLimit = 100) -> dict[str, Any]:
        auth.require(user, ACTAS, "ListRejectedSubmissions")
        request = apb.ListRejectedSubmissionsRequest(include_resolved=include_resolved, limit=limit)
        return to_json(backend.call(A.ListRejectedSubmissions, request, user))

    @app.post(
        f"{API}/rejected-submissions/{{rejection_id}}/resolution",
        tags=["devices"],
        response_model=R.RejectedSubmissionOut,
        responses=R.WRITE,
    )
    def resolve_rejection(rejection_id: str, body: schemas.ResolutionIn, user: User) -> dict[str, Any]:
        auth.require(user, ACTAS, "ResolveRejectedSubmission")
        request = apb.ResolveRejectedSubmissionRequest(id=rejection_id, note=body.note)
        return to_json(backend.call(A.ResolveRejectedSubmission, request, user))


def _corrections_html(reply: apb.VerifyActaResponse) -> str:
    """What the page says of corrections, both ways: which acta this one corrects,
    and which sealed corrections this one has (a link to each one's page)."""

    def link(ref: apb.ActaRef) -> str:
        name = html.escape(ref.folio or ref.acta_id)
        sealed = ""
        if ref.HasField("sealed_at"):
            sealed = f", sellada el {spanish_date(ref.sealed_at.ToDatetime(tzinfo=UTC))}"
        return f'<a href="/verificar/{html.escape(ref.acta_id, quote=True)}">acta {name}</a>{sealed}'

    # Inline content only: the page puts it inside a paragraph.
    parts = []
    if reply.HasField("corrects"):
        parts.append(f"<br><strong>Esta acta es una corrección:</strong> corrige el {link(reply.corrects)}.")
    if reply.corrected_by:
        several = len(reply.corrected_by) > 1
        parts.append(
            "<br><strong>Esta acta fue corregida.</strong> Lo que dice fue corregido por "
            f"{'correcciones posteriores' if several else 'una corrección posterior'}; consulte también: "
            + "; ".join(link(ref) for ref in reply.corrected_by)
            + "."
        )
    return "".join(parts)


def _page(title: str, detail: str, valid: bool) -> str:
    colour = "#1b7f3b" if valid else "#b3261e"
    return (
        '<!doctype html><html lang="es"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title} · CRM Social</title></head>"
        '<body style="font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em">'
        f'<main><h1 style="color:{colour}">{title}</h1><div>{detail}</div>'
        "<p><small>Verificación pública de actas de CRM Social.</small></p></main></body></html>"
    )
