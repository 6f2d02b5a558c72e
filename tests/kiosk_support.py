"""Helpers shared by the kiosk flow tests: the person at the reader, the gateway's
JSON for templates and roster entries, a small handwritten-signature PNG."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Sequence
from typing import Any, Protocol

from google.protobuf.json_format import MessageToDict
from PIL import Image

from edge_agent.reader import Prompt
from services.actas.domain.catalogue import CATALOGUE
from services.actas.entrypoints.proto_mapping import template as template_pb


class Glass(Protocol):
    def press(self, finger: str, quality: str = ..., captures: int | None = ...) -> None: ...
    def lift(self) -> None: ...


class Hand:
    """Plays the people at the reader: when asked to place a finger, puts the next
    scripted (finger, quality) on the glass; when asked to remove it, lifts it."""

    def __init__(self, glass: Glass, *presses: str | tuple[str, str]) -> None:
        self.glass = glass
        self.presses = [(p, "good") if isinstance(p, str) else p for p in presses]
        self.prompts: list[Prompt] = []

    def __call__(self, prompt: Prompt) -> None:
        self.prompts.append(prompt)
        if prompt is Prompt.REMOVE_FINGER:
            self.glass.lift()
        elif prompt.wants_finger:
            assert self.presses, f"the reader asked for another finger: {prompt.value}"
            finger, quality = self.presses.pop(0)
            self.glass.press(finger, quality)

    def then(self, *presses: str | tuple[str, str]) -> Hand:
        """Script the next presses (the same hand, for the next signer)."""
        self.presses.extend((p, "good") if isinstance(p, str) else p for p in presses)
        return self


def catalogue_json() -> list[dict[str, Any]]:
    """The acta templates as ``GET /api/v1/acta-templates`` sends them."""
    return [
        MessageToDict(template_pb(t), preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
        for t in CATALOGUE
    ]


def roster_entry(
    person_id: str,
    first: str,
    last: str,
    family_id: str = "fam-1",
    templates: dict[str, bytes] | None = None,
    can_sign: bool = True,
) -> dict[str, Any]:
    """One person as ``GET /api/v1/kiosk/roster`` sends them."""
    return {
        "id": person_id,
        "first_names": first,
        "last_names": last,
        "national_id": {"type": "CC", "number": str(int(hashlib.sha256(person_id.encode()).hexdigest(), 16) % 10**9)},
        "family_id": family_id,
        "can_sign": can_sign,
        "biometrics": [
            {
                "finger": finger,
                "template_sha256": hashlib.sha256(data).hexdigest(),
                "template_base64": base64.b64encode(data).decode(),
            }
            for finger, data in (templates or {}).items()
        ],
    }


def visit_values(signers: Sequence[str], family_id: str = "fam-1", **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "fecha": "2026-11-20",
        "lugar": "Nuevo Roche",
        "ubicacion": {"lat": 11.0041, "lon": -72.9251, "accuracy_m": 12},
        "hogar": family_id,
        "motivo": "seguimiento",
        "situacion_encontrada": "Familia completa, sin novedad",
        "personas_presentes": 3,
        "firmantes": list(signers),
    }
    values.update(overrides)
    return values


def png(size: tuple[int, int] = (60, 20)) -> bytes:
    out = io.BytesIO()
    Image.new("L", size, 255).save(out, "PNG")
    return out.getvalue()
