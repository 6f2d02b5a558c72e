"""The actas service (gRPC) as the source of what a PDF shows: the sealed acta, its
template's labels, its participants and signature images, flattened into an
``ActaView``."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

from google.protobuf.json_format import MessageToDict

from crm_platform.dates import spanish_date
from crm_platform.grpc_client import ServiceClient
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2_grpc as apb_grpc
from services.documents.domain.errors import DocumentsError
from services.documents.domain.view import ActaView, FieldLine, FingerprintEvidence, SignatureView

SERVICE_SUBJECT = "documents"
SERVICE_ROLE = "service"
TIMEOUT_SECONDS = 10.0


class ActaNotSealed(DocumentsError):
    """Only sealed actas get a document."""


class GrpcActaSource(ServiceClient):
    """A failed call raises the platform's error (``NotFound``, ``Unavailable``...);
    the use cases record it and retry later."""

    timeout_seconds = TIMEOUT_SECONDS

    def __init__(self, target: str, verify_base_url: str) -> None:
        super().__init__(target, apb_grpc.ActasServiceStub, SERVICE_SUBJECT, SERVICE_ROLE)
        self._verify_base_url = verify_base_url.rstrip("/")

    def view(self, acta_id: str) -> ActaView:
        acta = self.call(self.stub.GetActa, apb.GetActaRequest(id=acta_id, include_images=True))
        if acta.status != "sealed":
            raise ActaNotSealed(f"acta {acta_id} is {acta.status!r}, not sealed")
        amends_folio = ""
        if acta.amends:
            original = self.call(self.stub.GetActa, apb.GetActaRequest(id=acta.amends, include_images=False))
            amends_folio = original.folio
        verify_url = f"{self._verify_base_url}/{acta.id}"
        return build_view(acta, self._template(acta.template_key), verify_url, amends_folio)

    def template_key(self, acta_id: str) -> str:
        acta = self.call(self.stub.GetActa, apb.GetActaRequest(id=acta_id, include_images=False))
        return str(acta.template_key)

    @functools.lru_cache(maxsize=64)  # noqa: B019 - templates are immutable per key; one source per process
    def _template(self, key: str) -> apb.Template:
        template: apb.Template = self.call(self.stub.GetTemplate, apb.GetTemplateRequest(key=key))
        return template


def build_view(acta: apb.Acta, template: apb.Template, verify_url: str, amends_folio: str = "") -> ActaView:
    values: dict[str, Any] = MessageToDict(acta.values)
    people = {p.beneficiary_id: p for p in acta.participants}
    # Names snapshotted on the acta first, then its participants' (older actas).
    names = {**{p.beneficiary_id: p.full_name for p in acta.participants}, **dict(acta.names)}
    fields = tuple(
        FieldLine(f.label, _display(f, values[f.code], names))
        for f in template.fields
        if f.code in values and f.code != "lugar"
    )
    location = values.get("ubicacion")
    gps = (acta.location.lat, acta.location.lon) if acta.HasField("location") else None
    if gps is None and isinstance(location, dict):
        gps = (float(location["lat"]), float(location["lon"]))
    return ActaView(
        acta_id=acta.id,
        title=acta.title,
        template_key=acta.template_key,
        place=str(values.get("lugar", "")),
        captured_at=acta.captured_at.ToDatetime().astimezone(),
        sealed_at=acta.sealed_at.ToDatetime().astimezone(),
        gestor_name=acta.gestor_name or acta.gestor_id,
        community_name=acta.names.get(acta.community_id) or acta.community_id or "—",
        fields=fields,
        signatures=tuple(_signature(s, people, acta) for s in acta.signatures),
        content_hash=acta.content_hash,
        chain_seq=acta.chain_seq or None,
        verify_url=verify_url,
        amends=acta.amends,
        gps=gps,
        folio=acta.folio,
        amends_folio=amends_folio,
        amendment_reason=acta.amendment_reason,
        gestor_document=acta.gestor_document,
        gestor_title=acta.gestor_title,
    )


def _signature(s: apb.Signature, people: dict[str, apb.Participant], acta: apb.Acta) -> SignatureView:
    person = people.get(s.signer_id)
    staff = s.role == "gestor" and s.signer_id == acta.gestor_id
    evidence = None
    if s.HasField("fingerprint"):
        fp = s.fingerprint
        # Actas sealed before evidence was classified: a kiosk's submission was
        # device-signed as a whole; a desk match was the gestor's word.
        kiosk = acta.source == "kiosk"
        evidence = FingerprintEvidence(
            fp.score,
            fp.finger,
            fp.sensor_id,
            fp.mode,
            fp.template_sha256,
            fp.matched_at.ToDatetime().astimezone(),
            verification=fp.verification or ("device" if kiosk else "declared"),
            device_id=fp.device_id or (acta.device_id if kiosk else ""),
        )
    return SignatureView(
        name=person.full_name if person else ((acta.gestor_name or acta.gestor_id) if staff else s.signer_id),
        role=s.role,
        method=s.method,
        signed_at=s.signed_at.ToDatetime().astimezone() if s.HasField("signed_at") else None,
        national_id=person.national_id if person else (acta.gestor_document if staff else ""),
        handwritten_png=s.handwritten_png or None,
        fingerprint=evidence,
        refusal_reason=s.refusal_reason,
        title=acta.gestor_title if staff else "",
    )


def _display(spec: apb.TemplateField, value: Any, names: dict[str, str]) -> str:
    if spec.type == "number" and isinstance(value, float) and value.is_integer():
        return str(int(value))
    if spec.type == "date":
        try:
            return spanish_date(date.fromisoformat(str(value)))
        except ValueError:
            return str(value)
    labels = dict(zip(spec.options, spec.option_labels, strict=False))
    if spec.type == "single_choice":
        return labels.get(str(value)) or _option(str(value))
    if spec.type == "multiple_choice":
        return ", ".join(labels.get(str(v)) or _option(str(v)) for v in value)
    if spec.type == "signature_list":
        return "; ".join(names.get(v) or v for v in value)
    if spec.type in ("beneficiary_ref", "family_ref"):
        return names.get(str(value)) or str(value)
    if spec.type == "gps_point":
        accuracy = f" (±{value['accuracy_m']:.0f} m)" if "accuracy_m" in value else ""
        return f"{value['lat']:.6f}, {value['lon']:.6f}{accuracy}"
    if spec.type == "photo":
        return f"Fotografía adjunta (SHA-256 {str(value.get('sha256', ''))[:16]}…)"
    return str(value)


def _option(code: str) -> str:
    text = code.replace("_", " ")
    return text[:1].upper() + text[1:]
