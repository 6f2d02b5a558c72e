"""The actas gRPC server: ``crm-actas-grpc``.

Serves the desk flow, queries, verification, the device registry and the list of
rejected submissions. Who may call each method is the service's access table
(``services.actas.access``), enforced by the server before any method runs. Domain
errors are the platform's vocabulary, translated by the server's interceptor. It
also runs the outbox sweep.
"""

from __future__ import annotations

import grpc

from crm_platform import grpc_support
from crm_platform.config import int_setting
from crm_platform.outbox import OutboxSweeper
from crm_platform.process import Periodic
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as pb
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2_grpc as pb_grpc
from crm_platform.service import GrpcEndpoint, Servicer, run_service
from services.actas.access import ACCESS
from services.actas.bootstrap import SERVICE_NAME, App, bootstrap
from services.actas.domain import errors
from services.actas.domain.model import Actor, Method, Role
from services.actas.entrypoints import head_mapping
from services.actas.entrypoints import proto_mapping as to_pb
from services.actas.service_layer.handlers import SignatureInput
from services.actas.service_layer.heads import HeadPublisher
from services.actas.service_layer.ports import ActaFilter, CountFilter, StaffProfile

SERVICE_FULL_NAME = pb.DESCRIPTOR.services_by_name["ActasService"].full_name


def _actor(profile: pb.StaffProfile | None = None) -> Actor:
    subject, role = grpc_support.current_caller()
    return to_pb.actor(subject, role, profile or pb.StaffProfile())


class ActasServicer(pb_grpc.ActasServiceServicer):
    def __init__(self, app: App) -> None:
        self.h = app.handlers
        self._heads = app.heads

    @property
    def heads(self) -> HeadPublisher:
        if self._heads is None:
            raise errors.InvalidState("Este proceso no publica cabezas de cadena firmadas")
        return self._heads

    def ListTemplates(
        self, request: pb.ListTemplatesRequest, context: grpc.ServicerContext
    ) -> pb.ListTemplatesResponse:
        return pb.ListTemplatesResponse(templates=[to_pb.template(t) for t in self.h.list_templates()])

    def GetTemplate(self, request: pb.GetTemplateRequest, context: grpc.ServicerContext) -> pb.Template:
        return to_pb.template(self.h.template(request.key))

    def CreateActa(self, request: pb.CreateActaRequest, context: grpc.ServicerContext) -> pb.Acta:
        captured_at = to_pb.when(request.captured_at, request.HasField("captured_at"))
        actor = _actor(request.gestor)
        acta = self.h.create(
            request.template_key, to_pb.values(request.values), request.community_id, captured_at, actor
        )
        return to_pb.acta(acta)

    def SignActa(self, request: pb.SignActaRequest, context: grpc.ServicerContext) -> pb.Acta:
        actor = _actor()
        kind = request.WhichOneof("method")
        gestor = not request.signer_id or request.signer_id == actor.subject
        if kind is None and not gestor:
            raise errors.FieldsInvalid({"method": "Indique huella, firma manuscrita o motivo de no firma"})
        method = {
            None: Method.ELECTRONIC,
            "fingerprint": Method.FINGERPRINT,
            "handwritten_png": Method.HANDWRITTEN,
            "refusal_reason": Method.REFUSED,
        }[kind]
        given = SignatureInput(
            signer_id=actor.subject if gestor else request.signer_id,
            role=Role.GESTOR if gestor else Role.PARTICIPANT,
            method=method,
            fingerprint=to_pb.evidence(request.fingerprint) if kind == "fingerprint" else None,
            handwritten_png=request.handwritten_png if kind == "handwritten_png" else None,
            refusal_reason=request.refusal_reason,
        )
        return to_pb.acta(self.h.sign(request.acta_id, given, actor))

    def SealActa(self, request: pb.SealActaRequest, context: grpc.ServicerContext) -> pb.Acta:
        return to_pb.acta(self.h.seal(request.acta_id, _actor()))

    def AmendActa(self, request: pb.AmendActaRequest, context: grpc.ServicerContext) -> pb.Acta:
        actor = _actor(request.signer)
        return to_pb.acta(self.h.amend(request.acta_id, to_pb.values(request.changes), request.reason, actor))

    def GetActa(self, request: pb.GetActaRequest, context: grpc.ServicerContext) -> pb.Acta:
        acta = self.h.get(request.id)
        images = self.h.images(acta.id) if request.include_images else None
        return to_pb.acta(acta, self.h.amended_by(acta.id), images)

    def ListActas(self, request: pb.ListActasRequest, context: grpc.ServicerContext) -> pb.ListActasResponse:
        query = ActaFilter(
            beneficiary_id=request.beneficiary_id,
            family_id=request.family_id,
            gestor_id=request.gestor_id,
            template_code=request.template_code,
            status=request.status,
            captured_from=to_pb.when(request.captured_from, request.HasField("captured_from")),
            captured_to=to_pb.when(request.captured_to, request.HasField("captured_to")),
            limit=request.limit,
        )
        return pb.ListActasResponse(actas=[to_pb.acta(a) for a in self.h.query(query)])

    def CountActas(self, request: pb.CountActasRequest, context: grpc.ServicerContext) -> pb.CountActasResponse:
        counts = self.h.count(
            CountFilter(
                group_by=request.group_by or "template",
                status=request.status or "sealed",
                include_corrections=request.include_corrections,
                captured_from=to_pb.when(request.captured_from, request.HasField("captured_from")),
                captured_to=to_pb.when(request.captured_to, request.HasField("captured_to")),
            )
        )
        return pb.CountActasResponse(counts=[pb.Count(key=k, count=v) for k, v in counts.items()])

    def VerifyChain(self, request: pb.VerifyChainRequest, context: grpc.ServicerContext) -> pb.VerifyChainResponse:
        report = self.h.verify_chain()
        return pb.VerifyChainResponse(
            entries=report.entries, head_hash=report.head_hash, problems=[to_pb.problem(p) for p in report.problems]
        )

    def VerifyActa(self, request: pb.VerifyActaRequest, context: grpc.ServicerContext) -> pb.VerifyActaResponse:
        acta, problems = self.h.verify_acta(request.acta_id)
        corrects, corrected_by = self.h.corrections(acta)
        return pb.VerifyActaResponse(
            valid=not problems,
            content_hash=acta.content_hash,
            chain_seq=acta.chain_seq,
            problems=[to_pb.problem(p) for p in problems],
            folio=acta.folio,
            corrects=to_pb.acta_ref(corrects) if corrects else None,
            corrected_by=[to_pb.acta_ref(c) for c in corrected_by],
        )

    def RegisterDevice(self, request: pb.RegisterDeviceRequest, context: grpc.ServicerContext) -> pb.Device:
        device = self.h.register_device(
            request.id, request.public_key, request.community_id, request.description, _actor()
        )
        return to_pb.device(device)

    def RevokeDevice(self, request: pb.RevokeDeviceRequest, context: grpc.ServicerContext) -> pb.Device:
        return to_pb.device(self.h.revoke_device(request.id, _actor()))

    def GetDevice(self, request: pb.GetDeviceRequest, context: grpc.ServicerContext) -> pb.Device:
        return to_pb.device(self.h.device(request.id))

    def ListDevices(self, request: pb.ListDevicesRequest, context: grpc.ServicerContext) -> pb.ListDevicesResponse:
        return pb.ListDevicesResponse(devices=[to_pb.device(d) for d in self.h.list_devices(_actor())])

    def IssuePairingCode(self, request: pb.IssuePairingCodeRequest, context: grpc.ServicerContext) -> pb.PairingCode:
        return to_pb.pairing_code(self.h.issue_pairing_code(request.community_id, request.description, _actor()))

    def PairDevice(self, request: pb.PairDeviceRequest, context: grpc.ServicerContext) -> pb.Device:
        device = self.h.pair_device(request.code, request.device_id, request.public_key, request.description, _actor())
        return to_pb.device(device)

    def ListRejectedSubmissions(
        self, request: pb.ListRejectedSubmissionsRequest, context: grpc.ServicerContext
    ) -> pb.ListRejectedSubmissionsResponse:
        found = self.h.list_rejections(request.include_resolved, request.limit, _actor())
        return pb.ListRejectedSubmissionsResponse(rejected=[to_pb.rejection(r) for r in found])

    def PutStaffProfile(self, request: pb.PutStaffProfileRequest, context: grpc.ServicerContext) -> pb.StaffProfile:
        given = StaffProfile(
            request.username, request.profile.full_name, request.profile.document, request.profile.title
        )
        saved = self.h.put_staff_profile(given, _actor())
        return pb.StaffProfile(full_name=saved.full_name, document=saved.document, title=saved.title)

    def ResolveRejectedSubmission(
        self, request: pb.ResolveRejectedSubmissionRequest, context: grpc.ServicerContext
    ) -> pb.RejectedSubmission:
        return to_pb.rejection(self.h.resolve_rejection(request.id, request.note, _actor()))

    def PublishChainHead(self, request: pb.PublishChainHeadRequest, context: grpc.ServicerContext) -> pb.ChainHead:
        head, created = self.heads.publish()
        return head_mapping.chain_head(head, created)

    def GetLatestChainHead(self, request: pb.GetLatestChainHeadRequest, context: grpc.ServicerContext) -> pb.ChainHead:
        return head_mapping.chain_head(self.heads.latest(), False)

    def GetChainPublicKey(
        self, request: pb.GetChainPublicKeyRequest, context: grpc.ServicerContext
    ) -> pb.ChainPublicKey:
        return head_mapping.chain_public_key(self.heads.public_key)


def endpoint(app: App) -> GrpcEndpoint:
    return GrpcEndpoint(
        "ACTAS_GRPC_PORT",
        50052,
        [Servicer(ActasServicer(app), pb_grpc.add_ActasServiceServicer_to_server, SERVICE_FULL_NAME, ACCESS)],
    )


def head_publication(app: App) -> list[Periodic]:
    """Signs and stores a chain head every ``ACTAS_HEAD_INTERVAL_SECONDS`` (600)
    when the chain moved; 0 turns it off. Replicas may all run it: a head is
    stored once per ``chain_seq``."""
    interval = int_setting("ACTAS_HEAD_INTERVAL_SECONDS", 600)
    if app.heads is None or interval <= 0:
        return []
    return [Periodic("chain-head-publisher", app.heads.publish_if_moved, interval)]


def main() -> None:
    run_service(
        f"{SERVICE_NAME}-grpc",
        lambda: bootstrap(chain_heads=True),
        grpc=endpoint,
        background=lambda app: [
            OutboxSweeper(app.relay),
            *head_publication(app),
            # Counts what was sealed before the day counts existed, then only checks
            # its marker (services/actas/adapters/day_counts.py).
            Periodic("acta-day-counts", app.repo.backfill_day_counts, 5),
        ],
    )


if __name__ == "__main__":
    main()
