"""Stored records and domain values to the income service's protobuf messages."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.proto_gen.crm.income.v1 import income_pb2 as pb
from crm_platform.workflow.model import Transition
from services.income.domain.plan import ActionPlan
from services.income.domain.plan_io import content_to_mapping
from services.income.domain.viability import Assessment


def _ts(at: datetime | None) -> Timestamp | None:
    if at is None:
        return None
    out = Timestamp()
    out.FromDatetime(at)
    return out


def _text(value: Decimal | None, places: str = "0.01") -> str:
    return "" if value is None else format(value.quantize(Decimal(places)), "f")


def unit_message(doc: Mapping[str, Any], transitions: Sequence[Transition]) -> pb.ProductiveUnit:
    return pb.ProductiveUnit(
        id=doc["_id"],
        name=doc["name"],
        family_id=doc["family_id"],
        owner_ids=doc["owner_ids"],
        community_id=doc["community_id"],
        sector=doc["sector"],
        kind=doc["kind"],
        stage=doc["stage"],
        version=doc["version"],
        closing_reason=doc.get("closing_reason", ""),
        history=[
            pb.StageChange(**{**{k: v for k, v in h.items() if k != "at"}, "at": _ts(h["at"])})
            for h in doc.get("history", [])
        ],
        followups=[pb.FollowUp(**f) for f in doc.get("followups", [])],
        created_at=_ts(doc["created_at"]),
        created_by=doc["created_by"],
        plan_version=doc.get("plan_version", 0),
        plan_status=doc.get("plan_status", ""),
        transitions=[t.name for t in transitions],
        transition_options=[
            pb.TransitionOption(
                name=t.name, label=t.label, requires_reason=t.requires_reason, requires_acta=t.requires_acta
            )
            for t in transitions
        ],
        diagnosis_complete=bool((doc.get("diagnosis") or {}).get("complete")),
        diagnosis_notes=(doc.get("diagnosis") or {}).get("notes", ""),
        capitalization_amount=(doc.get("capitalization") or {}).get("amount", ""),
        definition_version=(doc.get("workflow") or {}).get("definition_version", 0),
    )


def _figures(found: Assessment) -> pb.PlanFigures:
    a = found.analysis
    return pb.PlanFigures(
        npv=_text(a.npv),
        irr_monthly=_text(a.irr.monthly, "0.000001"),
        irr_annual=_text(a.irr.annual, "0.000001"),
        payback_month=a.payback_month or 0,
        break_even_units=_text(a.average_break_even.units),
        break_even_sales=_text(a.average_break_even.sales),
        total_sales=_text(a.total_sales),
        operating_margin=_text(a.operating_margin, "0.0001"),
    )


def plan_message(plan: ActionPlan, found: Assessment | None) -> pb.ActionPlan:
    message = pb.ActionPlan(
        unit_id=plan.unit_id,
        version=plan.version,
        status=str(plan.status),
        revision=plan.revision,
        based_on=plan.based_on or 0,
        content_json=json.dumps(content_to_mapping(plan.content), ensure_ascii=False),
        history=[
            pb.PlanStatusChange(
                from_status=str(c.from_status or ""), to_status=str(c.to_status), by=c.by, at=_ts(c.at), reason=c.reason
            )
            for c in plan.history
        ],
        missing=sorted(plan.content.missing()),
        has_figures=found is not None,
    )
    if found is not None:
        message.figures.CopyFrom(_figures(found))
        message.verdict.CopyFrom(
            pb.Verdict(
                viable=found.verdict.viable,
                label=found.verdict.label,
                checks=[
                    pb.ViabilityCheck(code=c.code, passed=c.passed, message=c.message) for c in found.verdict.checks
                ],
            )
        )
    return message
