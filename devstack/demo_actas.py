"""``make demo``, actas part: a home visit signed with a fingerprint (vouched for by
a desk reader a coordinator paired with a one-time code) and by hand, sealed,
verified through its public page, and its signed PDF downloaded."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image, ImageDraw

from edge_agent.desk_reader import signed_evidence
from services.actas.domain.submission import public_key_b64

Check = Callable[[bool, str], None]
Expect = Callable[[httpx.Response, int], Any]


def signature_png() -> bytes:
    image = Image.new("L", (220, 70), 255)
    ImageDraw.Draw(image).line([(10, 50), (60, 15), (110, 55), (170, 20), (210, 45)], fill=0, width=3)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def steps(
    http: httpx.Client, state: dict[str, Any], check: Check, expect: Expect
) -> list[tuple[str, Callable[[], None]]]:
    def visit() -> None:
        g, family, head, child = state["gestor"], state["family"], state["head"], state["child"]
        acta = expect(
            http.post(
                "/api/v1/actas",
                headers=g,
                json={
                    "template_key": "visita_domiciliaria@1",
                    "values": {
                        "fecha": "2026-11-21",
                        "lugar": "Nuevo Roche, lote 12",
                        "ubicacion": {"lat": 11.0043, "lon": -72.6497, "accuracy_m": 6},
                        "hogar": family["id"],
                        "motivo": "seguimiento",
                        "situacion_encontrada": "La huerta familiar produce; la nieta asiste al colegio.",
                        "personas_presentes": 2,
                        "compromisos": "Visita de seguimiento en un mes.",
                        "firmantes": [head["id"], child["id"]],
                    },
                },
            ),
            201,
        )
        evidence = _reader_signed(
            http,
            state,
            expect,
            acta["id"],
            head["id"],
            {
                "score": 187,
                "finger": "right_index",
                "sensor_id": "ZFM-20 demo",
                "mode": "verify_1_1",
                "template_sha256": state["template_sha256"],
            },
        )
        signatures = [
            {"signer_id": head["id"], "method": "fingerprint", "fingerprint": evidence},
            {
                "signer_id": child["id"],
                "method": "handwritten",
                "handwritten_png_base64": base64.b64encode(signature_png()).decode(),
            },
            {"method": "electronic"},
        ]
        for signature in signatures:
            expect(http.post(f"/api/v1/actas/{acta['id']}/signatures", headers=g, json=signature), 200)
        sealed = expect(http.post(f"/api/v1/actas/{acta['id']}/seal", headers=g), 200)
        verified = sealed["signatures"][0]["fingerprint"]
        check(verified["verification"] == "device", "la huella del lector no quedó verificada")
        check(sealed["status"] == "sealed" and len(sealed["content_hash"]) == 64, "el acta no quedó sellada")
        late = http.post(f"/api/v1/actas/{acta['id']}/signatures", headers=g, json={"method": "electronic"})
        check(late.status_code == 409, "un acta sellada aceptó otra firma")
        state["acta"] = sealed

    def verification() -> None:
        acta = state["acta"]
        page = http.get(f"/verificar/{acta['id']}")
        check(page.status_code == 200 and acta["content_hash"] in page.text, "la página pública no verifica el acta")
        deadline, document = time.monotonic() + 30, None
        while time.monotonic() < deadline:
            reply = http.get(f"/api/v1/actas/{acta['id']}/document", headers=state["gestor"])
            if reply.status_code == 200 and reply.json()["status"] == "stored":
                document = reply.json()
                break
            time.sleep(0.5)
        check(document is not None and document["pades_signed"], "no se generó el PDF firmado del acta")
        assert document is not None
        pdf = httpx.get(document["download_url"], timeout=10)
        check(pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), "el enlace de descarga no entrega el PDF")

    return [
        ("Acta de visita: huella de la jefa, firma a mano de la nieta, sellada en la cadena", visit),
        ("PDF firmado (PAdES) descargable y página pública de verificación del QR", verification),
    ]


def _reader_signed(
    http: httpx.Client, state: dict[str, Any], expect: Expect, acta_id: str, signer_id: str, match: dict[str, Any]
) -> dict[str, Any]:
    """The desk reader's evidence: paired once with a coordinator's code, it signs each match."""
    if "reader" not in state:
        code = expect(
            http.post(
                "/api/v1/pairing-codes",
                headers=state["coordinator"],
                json={"community_id": state["community"]["id"], "description": "Lector del escritorio"},
            ),
            201,
        )["code"]
        key, device_id = Ed25519PrivateKey.generate(), f"lector-escritorio-{int(time.time())}"
        pairing = {"code": code, "device_id": device_id, "public_key": public_key_b64(key)}
        expect(http.post("/api/v1/kiosk/pairing", json=pairing), 201)
        state["reader"] = (device_id, key)
    device_id, key = state["reader"]
    return signed_evidence(
        key, device_id=device_id, acta_id=acta_id, signer_id=signer_id, matched_at=datetime.now(UTC), **match
    )
