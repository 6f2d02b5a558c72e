"""Attachments (photos for an acta's photo fields): stored by the SHA-256 of their
content, only when they are what they claim (Pillow decodes PNG and JPEG; a PDF
has its header), within the one size limit, and found by their hash in either
case. No error repeats the input. (Issue 12, items 8 and 18.)"""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from PIL import Image

from crm_platform import errors as vocabulary
from crm_platform.limits import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENT_MB
from services.documents.service_layer.handlers import InvalidAttachment, NotFound
from services.documents.service_layer.ports import StoredObject
from tests.unit.documents_fakes import ATTACHMENTS, NOW, world

FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}


def sample(content_type: str, size: tuple[int, int] = (32, 24), colour: int = 90) -> bytes:
    if content_type == "application/pdf":
        return b"%PDF-1.7\n% a visit's scanned form\n%%EOF\n"
    out = io.BytesIO()
    Image.new("RGB", size, (colour, 140, 60)).save(out, format=FORMATS[content_type])
    return out.getvalue()


@pytest.mark.parametrize("content_type", ["image/jpeg", "image/png", "application/pdf"])
def test_an_attachment_is_stored_under_the_sha256_of_its_content(content_type: str) -> None:
    w = world()
    content = sample(content_type)
    digest = hashlib.sha256(content).hexdigest()

    stored = w.handlers.put_attachment(content, content_type)

    key = f"sha256/{digest[:2]}/{digest}"
    assert stored == StoredObject(key, digest, len(content), content_type)
    assert w.store.objects[(ATTACHMENTS, key)] == (content, content_type, {"sha256": digest})


def test_the_same_attachment_uploaded_twice_is_stored_once() -> None:
    w = world()
    first = w.handlers.put_attachment(sample("image/jpeg"), "image/jpeg")
    second = w.handlers.put_attachment(sample("image/jpeg"), "image/jpeg")
    assert first == second and w.store.puts == 1


def refused(content: bytes, content_type: str) -> InvalidAttachment:
    w = world()
    with pytest.raises(InvalidAttachment) as caught:
        w.handlers.put_attachment(content, content_type)
    assert w.store.puts == 0
    assert set(caught.value.fields) == {"content"}
    assert isinstance(caught.value, vocabulary.InvalidArgument)
    return caught.value


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"GIF89a...", "image/gif"),
        (b"<svg/>", "image/svg+xml"),
        (b"", "image/jpeg"),
    ],
    ids=["gif", "svg", "empty"],
)
def test_an_attachment_of_another_type_or_empty_is_refused(content: bytes, content_type: str) -> None:
    error = refused(content, content_type)
    assert content_type not in error.message  # a caller's text is not repeated


def test_an_attachment_over_the_limit_is_refused_in_spanish() -> None:
    error = refused(b"\xff" * (MAX_ATTACHMENT_BYTES + 1), "image/jpeg")
    assert error.fields["content"] == f"La foto supera el tamaño máximo de {MAX_ATTACHMENT_MB} MB"


def test_a_photo_of_exactly_the_limit_is_accepted() -> None:
    w = world()
    photo = sample("image/png")
    padded = photo + b"\0" * (MAX_ATTACHMENT_BYTES - len(photo))  # data after IEND is ignored
    stored = w.handlers.put_attachment(padded, "image/png")
    assert stored.size_bytes == MAX_ATTACHMENT_BYTES


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"<html><script>alert(1)</script></html>", "image/png"),
        (b"photo of the visit", "image/jpeg"),
        (sample("image/jpeg"), "image/png"),
        (sample("image/png"), "image/jpeg"),
        (sample("image/jpeg")[:150], "image/jpeg"),
        (sample("image/png")[:60], "image/png"),
        (sample("image/png"), "application/pdf"),
    ],
    ids=["html-as-png", "text-as-jpeg", "jpeg-as-png", "png-as-jpeg", "truncated-jpeg", "truncated-png", "png-as-pdf"],
)
def test_content_that_is_not_what_it_claims_is_refused_without_echoing_it(content: bytes, content_type: str) -> None:
    error = refused(content, content_type)
    assert "válido" in error.message
    assert "script" not in error.message and "photo" not in error.message


def test_a_stored_attachment_is_found_by_its_sha256_with_a_link() -> None:
    w = world()
    stored = w.handlers.put_attachment(sample("image/png"), "image/png")
    w.clock.current = NOW + timedelta(minutes=3)

    found, link = w.handlers.attachment(stored.sha256, timedelta(hours=30))

    assert found == stored
    assert link.url == f"https://objects.test/{ATTACHMENTS}/{stored.key}?expires={24 * 3600}"
    assert link.expires_at == NOW + timedelta(minutes=3, hours=24)


@pytest.mark.parametrize("spelling", [str.upper, str.lower, lambda s: s[:32].upper() + s[32:], lambda s: f" {s}\n"])
def test_an_attachment_is_found_by_its_sha256_in_either_case(spelling: object) -> None:
    w = world()
    stored = w.handlers.put_attachment(sample("image/jpeg"), "image/jpeg")
    found, _ = w.handlers.attachment(spelling(stored.sha256))  # type: ignore[operator]
    assert found == stored


def test_an_unknown_attachment_hash_is_not_found() -> None:
    w = world()
    w.handlers.put_attachment(sample("image/png"), "image/png")
    unknown = hashlib.sha256(b"never uploaded").hexdigest()
    with pytest.raises(NotFound) as caught:
        w.handlers.attachment(unknown)
    assert unknown not in str(caught.value)


@pytest.mark.parametrize(
    "sha256",
    [
        hashlib.sha256(b"photo").hexdigest()[:63],
        "../" + hashlib.sha256(b"photo").hexdigest()[3:],
        "g" * 64,
        "",
        "a" * 10_000,
    ],
    ids=["short", "path", "not-hex", "empty", "huge"],
)
def test_a_malformed_attachment_hash_is_an_invalid_argument_naming_sha256(sha256: str) -> None:
    w = world()
    with pytest.raises(vocabulary.InvalidArgument) as caught:
        w.handlers.attachment(sha256)
    assert set(caught.value.fields) == {"sha256"}
    assert sha256 not in str(caught.value) or not sha256
    assert w.store.objects == {}
