"""Bad input through the gateway is a 4xx naming the field, never a server error
(issue 12, items 5, 8 and 18): integers beyond their range, base64 that is not
ASCII, NaN and infinities, photos over the one size limit, files that are not
what they claim, and SHA-256 in upper case."""

from __future__ import annotations

import base64
import hashlib
import io
import os

import httpx
import pytest
from PIL import Image

from crm_platform.limits import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENT_MB

API = "/api/v1"
PHOTO_TOO_LARGE = f"La foto supera el tamaño máximo de {MAX_ATTACHMENT_MB} MB"


def jpeg(size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


@pytest.mark.parametrize(
    "path",
    [
        "/actas?limit=1000000000000",
        "/rejected-submissions?limit=1000000000000",
        "/beneficiaries?q=Wil&limit=1000000000000",
        "/notifications?status=failed&limit=1000000000000",
        "/actas?limit=0",
    ],
)
def test_a_limit_out_of_range_is_a_400_naming_limit(
    http: httpx.Client, as_role: dict[str, dict[str, str]], path: str
) -> None:
    r = http.get(f"{API}{path}", headers=as_role["admin"])
    assert r.status_code == 400, r.text
    assert r.json()["fields"]["limit"] in ("Debe ser al menos 1", "Debe ser como máximo 500")


@pytest.mark.parametrize("path", ["/actas/nope/document", f"/attachments/{'0' * 64}"])
def test_a_huge_link_ttl_is_a_400_naming_ttl_seconds(
    http: httpx.Client, as_role: dict[str, dict[str, str]], path: str
) -> None:
    r = http.get(f"{API}{path}?ttl_seconds={10**12}", headers=as_role["admin"])
    assert r.status_code == 400, r.text
    assert "ttl_seconds" in r.json()["fields"]


def test_base64_that_is_not_ascii_is_a_400_naming_the_field(
    http: httpx.Client, as_role: dict[str, dict[str, str]]
) -> None:
    photo = {"content_type": "image/png", "content_base64": "iVBORw0KGgoñññ="}
    r = http.post(f"{API}/attachments", headers=as_role["gestor"], json=photo)
    assert r.status_code == 400, r.text
    assert r.json()["fields"] == {"content_base64": "No es base64 válido"}
    signature = {"signer_id": "", "method": "handwritten", "handwritten_png_base64": "ÿÿÿÿ"}
    r = http.post(f"{API}/actas/any/signatures", headers=as_role["gestor"], json=signature)
    assert r.status_code == 400, r.text
    assert "handwritten_png_base64" in r.json()["fields"]
    r = http.post(
        f"{API}/beneficiaries/any/biometrics",
        headers=as_role["admin"],
        json={"finger": "right_index", "template_base64": "€€€€"},
    )
    assert r.status_code == 400, r.text
    assert "template_base64" in r.json()["fields"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_nan_or_infinity_in_acta_values_is_a_400_naming_the_field(
    http: httpx.Client, as_role: dict[str, dict[str, str]], number: str
) -> None:
    # Raw text: JSON has no NaN, but Python's parser (and so the gateway's) accepts it.
    raw = '{"template_key": "visita_domiciliaria@1", "values": {"personas_presentes": NUMBER}}'.replace(
        "NUMBER", number
    )
    headers = {**as_role["gestor"], "Content-Type": "application/json"}
    r = http.post(f"{API}/actas", headers=headers, content=raw)
    assert r.status_code == 400, r.text
    assert "values.personas_presentes" in r.json()["fields"]
    nested = raw.replace('"personas_presentes": ' + number, '"ubicacion": {"lat": ' + number + ', "lon": 1}')
    r = http.post(f"{API}/actas", headers=headers, content=nested)
    assert r.status_code == 400, r.text
    assert "values.ubicacion.lat" in r.json()["fields"]
    changes = '{"changes": {"personas_presentes": NUMBER}, "reason": "corrige"}'.replace("NUMBER", number)
    r = http.post(f"{API}/actas/any/amendments", headers=headers, content=changes)
    assert r.status_code == 400, r.text
    assert "changes.personas_presentes" in r.json()["fields"]


def test_a_photo_over_the_limit_is_a_413_in_spanish(http: httpx.Client, as_role: dict[str, dict[str, str]]) -> None:
    just_over = {
        "content_type": "image/jpeg",
        "content_base64": base64.b64encode(b"\xff" * (MAX_ATTACHMENT_BYTES + 1)).decode(),
    }
    r = http.post(f"{API}/attachments", headers=as_role["gestor"], json=just_over)
    assert r.status_code == 413, r.text
    assert r.json()["error"] == PHOTO_TOO_LARGE
    # Far over: refused from its declared length, before the body is read.
    far_over = {"content_type": "image/jpeg", "content_base64": "A" * (2 * MAX_ATTACHMENT_BYTES)}
    r = http.post(f"{API}/attachments", headers=as_role["gestor"], json=far_over)
    assert r.status_code == 413, r.text
    assert r.json()["error"] == PHOTO_TOO_LARGE


def test_a_photo_just_under_the_limit_passes_every_grpc_hop(
    http: httpx.Client, as_role: dict[str, dict[str, str]]
) -> None:
    # Noise does not compress: a PNG of about 9 MB, more than gRPC's default 4 MiB.
    image = Image.frombytes("RGB", (1700, 1800), os.urandom(1700 * 1800 * 3))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=0)
    photo = out.getvalue()
    assert 4 * 1024 * 1024 < len(photo) <= MAX_ATTACHMENT_BYTES
    body = {"content_type": "image/png", "content_base64": base64.b64encode(photo).decode()}
    r = http.post(f"{API}/attachments", headers=as_role["gestor"], json=body)
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == hashlib.sha256(photo).hexdigest()


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"<html><script>alert(1)</script></html>", "image/png"),
        (b"GIF89a\x01\x00\x01\x00", "image/jpeg"),
        (jpeg(), "image/png"),  # a real JPEG that claims to be a PNG
        (jpeg()[:200], "image/jpeg"),  # truncated
    ],
    ids=["html-as-png", "gif-as-jpeg", "jpeg-as-png", "truncated-jpeg"],
)
def test_an_attachment_that_is_not_what_it_claims_is_a_400_that_does_not_echo_it(
    http: httpx.Client, as_role: dict[str, dict[str, str]], content: bytes, content_type: str
) -> None:
    encoded = base64.b64encode(content).decode()
    r = http.post(
        f"{API}/attachments",
        headers=as_role["gestor"],
        json={"content_type": content_type, "content_base64": encoded},
    )
    assert r.status_code == 400, r.text
    assert "content" in r.json()["fields"]
    assert encoded not in r.text and "script" not in r.text


def test_an_attachment_is_found_by_its_sha256_in_upper_case(
    http: httpx.Client, as_role: dict[str, dict[str, str]]
) -> None:
    photo = jpeg((41, 29))
    body = {"content_type": "image/jpeg", "content_base64": base64.b64encode(photo).decode()}
    stored = http.post(f"{API}/attachments", headers=as_role["gestor"], json=body)
    assert stored.status_code == 201, stored.text
    sha = stored.json()["sha256"]
    found = http.get(f"{API}/attachments/{sha.upper()}", headers=as_role["auditor"])
    assert found.status_code == 200, found.text
    assert found.json()["sha256"] == sha
    malformed = http.get(f"{API}/attachments/{'Z' * 64}", headers=as_role["auditor"])
    assert malformed.status_code == 400 and "sha256" in malformed.json()["fields"]
    assert "Z" * 64 not in malformed.text
