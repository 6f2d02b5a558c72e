"""The actas service (gRPC) as the source of a sealed follow-up acta's values."""

from __future__ import annotations

from google.protobuf.json_format import MessageToDict

from crm_platform.grpc_client import ServiceClient
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2_grpc as apb_grpc
from services.income.service_layer.ports import FollowUpActa


class GrpcActaSource(ServiceClient):
    timeout_seconds = 10.0

    def __init__(self, target: str) -> None:
        super().__init__(target, apb_grpc.ActasServiceStub, "income", "service")

    def followup(self, acta_id: str) -> FollowUpActa:
        acta = self.call(self.stub.GetActa, apb.GetActaRequest(id=acta_id, include_images=False))
        return FollowUpActa(
            acta_id=acta.id,
            template_key=acta.template_key,
            values=MessageToDict(acta.values),
            gestor_id=acta.gestor_id,
            sealed_at=acta.sealed_at.ToDatetime().date().isoformat(),
        )
