"""The income service as the records a backfill reads (gRPC, as the platform service
``reports``): every productive unit, as the events that built it.

The income service lists UPs newest first, up to 500 per community and stage, with
no cursor (``ListUnits``); the backfill asks per community and per stage, then reads
each UP whole (``GetUnit``: history and follow-ups). A community and stage with 500
UPs or more is logged: the oldest beyond 500 join with their next event."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC
from typing import Any

from crm_platform import errors as vocabulary
from crm_platform.grpc_client import ServiceClient
from crm_platform.proto_gen.crm.income.v1 import income_pb2 as ipb
from crm_platform.proto_gen.crm.income.v1 import income_pb2_grpc as ipb_grpc
from services.reports.adapters.directory import SERVICE_SUBJECT

log = logging.getLogger(__name__)
LIST_LIMIT = 500
STAGES = (
    "diagnostico", "formulacion_plan", "aprobacion", "implementacion", "capitalizacion",
    "fortalecimiento", "seguimiento", "graduada", "cerrada",
)  # fmt: skip


def unit_events(unit: ipb.ProductiveUnit) -> list[tuple[str, dict[str, Any]]]:
    """The ``productive_unit_registered``, ``stage_changed`` and ``followup_recorded``
    payloads (the fields the projection reads) that a UP's record stands for. A stage
    change's version is its place in the history (the first change is version 2, as
    the workflow numbers it); the current stage keeps the UP's own version."""
    created = unit.created_at.ToDatetime(tzinfo=UTC).isoformat()
    base = {"unit_id": unit.id, "family_id": unit.family_id, "owner_ids": list(unit.owner_ids)}
    first = unit.history[0].from_stage if unit.history else unit.stage
    events: list[tuple[str, dict[str, Any]]] = [
        (
            "productive_unit_registered",
            {
                **base,
                "name": unit.name,
                "community_id": unit.community_id,
                "sector": unit.sector,
                "kind": unit.kind,
                "stage": first or unit.stage,
                "occurred_at": created,
            },
        )
    ]
    for i, change in enumerate(unit.history):
        version = int(unit.version) if i == len(unit.history) - 1 else i + 2
        at = change.at.ToDatetime(tzinfo=UTC).isoformat()
        events.append(("stage_changed", {**base, "to_stage": change.to_stage, "version": version, "occurred_at": at}))
    for f in unit.followups:
        payload = {**base, "acta_id": f.acta_id, "operating": f.operating, "monthly_sales": f.monthly_sales}
        events.append(("followup_recorded", {**payload, "occurred_at": created}))
    return events


class IncomeRecords(ServiceClient):
    timeout_seconds = 30.0

    def __init__(self, target: str) -> None:
        super().__init__(target, ipb_grpc.IncomeServiceStub, SERVICE_SUBJECT)

    def units(self, community_ids: Iterable[str]) -> Iterator[list[tuple[str, dict[str, Any]]]]:
        for community_id in community_ids:
            for stage in STAGES:
                request = ipb.ListUnitsRequest(community_id=community_id, stage=stage, limit=LIST_LIMIT)
                listed = self.call(self.stub.ListUnits, request).units
                if len(listed) >= LIST_LIMIT:
                    log.warning("community %s, stage %s: %d UPs or more listed", community_id, stage, LIST_LIMIT)
                for summary in listed:
                    try:
                        unit = self.call(self.stub.GetUnit, ipb.GetUnitRequest(id=summary.id))
                    except vocabulary.NotFound:
                        continue
                    yield unit_events(unit)
