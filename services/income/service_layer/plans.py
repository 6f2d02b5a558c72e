"""A Fluye plan to and from its stored form and its reply: content, history and
the figures and viability verdict computed by the domain (``assess``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from services.income.domain.plan import ActionPlan, PlanStatus, StatusChange
from services.income.domain.plan_io import content_from_mapping, content_to_mapping
from services.income.domain.viability import Assessment, ViabilityRule, assess


def plan_to_doc(plan: ActionPlan) -> dict[str, Any]:
    return {
        "version": plan.version,
        "status": str(plan.status),
        "revision": plan.revision,
        "based_on": plan.based_on,
        "content": content_to_mapping(plan.content),
        "history": [
            {
                "from_status": str(c.from_status) if c.from_status else "",
                "to_status": str(c.to_status),
                "by": c.by,
                "at": c.at,
                "reason": c.reason,
            }
            for c in plan.history
        ],
    }


def plan_from_doc(unit_id: str, doc: Mapping[str, Any]) -> ActionPlan:
    history = tuple(
        StatusChange(
            PlanStatus(c["from_status"]) if c["from_status"] else None,
            PlanStatus(c["to_status"]),
            c["by"],
            _aware(c["at"]),
            c.get("reason", ""),
        )
        for c in doc["history"]
    )
    return ActionPlan(
        unit_id,
        int(doc["version"]),
        content_from_mapping(doc["content"]),
        PlanStatus(doc["status"]),
        history,
        int(doc["revision"]),
        doc.get("based_on"),
    )


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def assessment(plan: ActionPlan, rule: ViabilityRule) -> Assessment | None:
    return assess(plan.content.finance, rule) if plan.content.finance is not None else None


def plan_view(plan: ActionPlan, rule: ViabilityRule) -> dict[str, Any]:
    """Everything a reply shows: the stored form plus ``assessment`` and ``missing``."""
    return {
        **plan_to_doc(plan),
        "unit_id": plan.unit_id,
        "content_json": json.dumps(content_to_mapping(plan.content), ensure_ascii=False),
        "assessment": assessment(plan, rule),
        "missing": sorted(plan.content.missing()),
    }
