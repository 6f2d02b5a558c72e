"""The documents use cases: a sealed acta ends with its PDF stored exactly once,
whatever fails on the way; links expire; attachments are stored by content.

The renderer is the real one (it is pure); the repository, the actas service,
the object store, the relay and the clock are in-memory fakes (documents_fakes.py)."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from crm_platform.errors import PermissionDenied
from services.documents.domain.signing import SIGNATURE_FIELD, PdfSigner, development_identity
from services.documents.domain.view import ActaView, SignatureView
from services.documents.service_layer.handlers import (
    DOCUMENTS,
    NotFound,
)
from tests.unit.documents_fakes import (
    CAPTURED,
    CONTENT_HASH,
    DOCS,
    NOW,
    DictObjectStore,
    FlakyActas,
    MarkingSigner,
    retry_after,
    stored_pdf,
    view,
    world,
)

# -- producing the document -----------------------------------------------------------------


def test_a_sealed_acta_gets_its_pdf_stored_and_the_record_then_announces_it() -> None:
    w = world()

    record = w.handlers.on_acta_sealed("acta-1")

    pdf, content_type, metadata = stored_pdf(w)
    assert pdf.startswith(b"%PDF-") and content_type == "application/pdf"
    digest = hashlib.sha256(pdf).hexdigest()
    assert metadata == {"acta-id": "acta-1", "sha256": digest, "acta-content-hash": CONTENT_HASH}
    kept = w.repo.records["acta-1"]
    assert (kept.status, kept.sha256, kept.object_key) == ("stored", record.sha256, record.object_key)
    assert (record.status, record.attempts, record.last_error) == ("stored", 1, "")
    assert (record.object_key, record.sha256, record.size_bytes) == ("actas/acta-1.pdf", digest, len(pdf))
    assert record.acta_content_hash == CONTENT_HASH and record.stored_at == NOW
    assert record.pades_signed is False
    [event] = w.repo.outbox["acta-1"]
    assert event["type"] == "document_stored"
    assert event["payload"] == {
        "acta_id": "acta-1",
        "bucket": DOCS,
        "object_key": "actas/acta-1.pdf",
        "sha256": digest,
        "size_bytes": len(pdf),
        "pades_signed": False,
        "stored_at": NOW.isoformat(),
    }
    assert w.relay.flushed == [(DOCUMENTS, "acta-1", "stored")]  # published only after the write


def test_the_pending_record_is_written_before_the_acta_is_fetched_so_a_crash_cannot_forget_it() -> None:
    w = world()
    w.handlers.on_acta_sealed("acta-1")
    [seen] = w.actas.records_seen
    assert seen is not None and seen.status == "pending"


def test_the_pdf_text_shows_the_acta_it_was_rendered_from() -> None:
    w = world({"acta-1": view(title="Acta de visita domiciliaria", gestor_name="Gestora Única Ñ")})
    w.handlers.on_acta_sealed("acta-1")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(stored_pdf(w)[0])).pages)
    assert "acta-1" in text and "Gestora Única Ñ" in " ".join(text.split())


def test_with_a_signer_the_stored_pdf_is_the_signed_one_and_says_so() -> None:
    signer = MarkingSigner()
    w = world(signer=signer)

    record = w.handlers.on_acta_sealed("acta-1")

    pdf, _, metadata = stored_pdf(w)
    assert pdf.endswith(b"% signed\n")
    assert record.sha256 == metadata["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert record.pades_signed is True and w.repo.outbox["acta-1"][0]["payload"]["pades_signed"] is True  # type: ignore[index]
    [(reason, location)] = signer.calls
    assert "acta-1" in reason and location == "Nuevo Roche, Barrancas (La Guajira)"


def test_the_real_signer_embeds_a_pades_signature_in_the_stored_pdf(tmp_path: Path) -> None:
    key, cert = development_identity(tmp_path)
    w = world(signer=PdfSigner.from_files(key, cert))

    record = w.handlers.on_acta_sealed("acta-1")

    pdf = stored_pdf(w)[0]
    fields = PdfReader(io.BytesIO(pdf)).get_fields() or {}
    assert fields[SIGNATURE_FIELD]["/FT"] == "/Sig"
    assert record.pades_signed and record.sha256 == hashlib.sha256(pdf).hexdigest()


# -- failures and retries ---------------------------------------------------------------------


def test_a_failure_keeps_the_record_pending_with_the_error_and_a_retry_time() -> None:
    w = world(failures=1)

    record = w.handlers.on_acta_sealed("acta-1")

    stored = w.repo.records["acta-1"]
    assert (stored.status, stored.attempts) == ("pending", 1)
    assert stored.last_error == "ConnectionError: actas service unavailable"
    assert timedelta(seconds=1.6) <= retry_after(w) <= timedelta(seconds=2.4)  # 2 s ± 20 %
    assert (record.status, record.attempts) == ("pending", 1) and "unavailable" in record.last_error
    assert w.store.objects == {} and "acta-1" not in w.repo.outbox and w.relay.flushed == []
    assert (stored.lease_owner, stored.leased_until) == ("", None)  # released: the retry takes it


def test_a_pending_document_is_retried_only_once_its_time_comes_and_then_stored_once() -> None:
    w = world(failures=1)
    w.handlers.on_acta_sealed("acta-1")

    w.clock.current = NOW + timedelta(seconds=1.5)
    assert w.handlers.retry_due() == 0
    assert len(w.actas.records_seen) == 1

    w.clock.current = NOW + timedelta(seconds=2.5)
    assert w.handlers.retry_due() == 1

    record = w.repo.records["acta-1"]
    assert (record.status, record.attempts, record.last_error) == ("stored", 2, "")
    assert len(w.repo.outbox["acta-1"]) == 1
    assert w.relay.flushed == [(DOCUMENTS, "acta-1", "stored")]
    assert w.handlers.retry_due() == 0


def test_repeated_failures_wait_twice_as_long_each_time_up_to_ten_minutes() -> None:
    w = world(failures=12)
    w.handlers.on_acta_sealed("acta-1")
    waits = [retry_after(w)]
    for _ in range(11):
        w.clock.current = w.repo.records["acta-1"].next_attempt_at or NOW
        w.handlers.retry_due()
        waits.append(retry_after(w))

    for attempt, wait in enumerate(waits, start=1):
        nominal = min(600.0, 2.0 * 2 ** (attempt - 1))
        assert 0.8 * nominal <= wait.total_seconds() <= 1.2 * nominal, (attempt, wait)
    assert w.repo.records["acta-1"].attempts == 12 and w.repo.records["acta-1"].status == "pending"

    w.clock.current = w.repo.records["acta-1"].next_attempt_at or NOW
    w.handlers.retry_due()
    assert w.repo.records["acta-1"].status == "stored"  # never given up on


def test_a_pdf_that_cannot_be_rendered_is_recorded_and_retried_not_dropped() -> None:
    broken = view(signatures=(SignatureView("Ana", "participante", "handwritten", CAPTURED, handwritten_png=b"x"),))
    w = world({"acta-1": broken})

    w.handlers.on_acta_sealed("acta-1")

    record = w.repo.records["acta-1"]
    assert record.status == "pending" and record.attempts == 1
    assert record.last_error.startswith("RenderFailed:") and "Ana" in record.last_error
    assert w.store.puts == 0 and w.relay.flushed == []
    assert w.repo.due(NOW + timedelta(minutes=1), 10) == ["acta-1"]


def test_an_unreachable_object_store_is_recorded_and_the_retry_stores_the_pdf() -> None:
    w = world(store=DictObjectStore(failures=1))

    w.handlers.on_acta_sealed("acta-1")
    assert w.repo.records["acta-1"].last_error == "OSError: object store unreachable"
    assert w.relay.flushed == []

    w.clock.current = NOW + timedelta(minutes=1)
    w.handlers.retry_due()
    assert w.repo.records["acta-1"].status == "stored" and w.store.puts == 2
    assert len(w.repo.outbox["acta-1"]) == 1


def test_a_signing_failure_stores_no_unsigned_pdf() -> None:
    w = world(signer=MarkingSigner(fail=True))
    w.handlers.on_acta_sealed("acta-1")
    record = w.repo.records["acta-1"]
    assert record.status == "pending" and record.last_error.startswith("SigningFailed:")
    assert w.store.puts == 0


def test_a_long_error_is_kept_truncated() -> None:
    class Chatty(FlakyActas):
        def view(self, acta_id: str) -> ActaView:
            raise RuntimeError("x" * 2000)

    w = world()
    w.handlers.actas = Chatty(w.repo, {})
    w.handlers.on_acta_sealed("acta-1")
    assert len(w.repo.records["acta-1"].last_error) == 500


def test_a_record_left_pending_by_a_crash_is_due_at_once() -> None:
    w = world()
    w.repo.ensure_pending("acta-1", NOW)  # the worker died after this write

    assert w.handlers.retry_due() == 1
    assert w.repo.records["acta-1"].status == "stored"


def test_a_retry_round_handles_at_most_its_limit() -> None:
    views = {f"acta-{n}": view(f"acta-{n}") for n in range(1, 4)}
    w = world(views)
    for acta_id in views:
        w.repo.ensure_pending(acta_id, NOW)

    assert w.handlers.retry_due(limit=2) == 2
    assert sorted(r.status for r in w.repo.records.values()) == ["pending", "stored", "stored"]
    assert w.handlers.retry_due(limit=2) == 1
    assert {r.status for r in w.repo.records.values()} == {"stored"}


# -- idempotency --------------------------------------------------------------------------------


def test_a_redelivered_acta_sealed_event_does_nothing_once_the_pdf_is_stored() -> None:
    w = world()
    first = w.handlers.on_acta_sealed("acta-1")
    w.clock.current = NOW + timedelta(hours=1)

    again = w.handlers.on_acta_sealed("acta-1")

    assert again == w.repo.records["acta-1"]
    assert (again.status, again.sha256, again.stored_at) == ("stored", first.sha256, NOW)
    assert len(w.actas.records_seen) == 1 and w.store.puts == 1
    assert len(w.repo.outbox["acta-1"]) == 1 and len(w.relay.flushed) == 1


def test_producing_an_already_stored_document_does_nothing() -> None:
    w = world()
    first = w.handlers.on_acta_sealed("acta-1")
    w.clock.current = NOW + timedelta(hours=1)
    again = w.handlers.produce("acta-1")
    assert (again.status, again.sha256, again.stored_at) == ("stored", first.sha256, NOW)
    assert w.store.puts == 1 and len(w.repo.outbox["acta-1"]) == 1


# -- reading documents ------------------------------------------------------------------------------


def test_an_acta_without_a_document_record_is_not_found() -> None:
    with pytest.raises(NotFound):
        world().handlers.document("acta-404", role="gestor")


def test_a_pending_document_has_no_link() -> None:
    w = world(failures=1)
    w.handlers.on_acta_sealed("acta-1")
    record, link = w.handlers.document("acta-1", role="gestor")
    assert record.status == "pending" and link is None


@pytest.mark.parametrize(
    ("ttl", "granted"),
    [
        (None, timedelta(minutes=15)),
        (timedelta(hours=1), timedelta(hours=1)),
        (timedelta(hours=48), timedelta(hours=24)),
    ],
)
def test_a_stored_document_gets_a_link_that_expires_within_a_day(ttl: timedelta | None, granted: timedelta) -> None:
    w = world()
    w.handlers.on_acta_sealed("acta-1")
    w.clock.current = NOW + timedelta(days=3)

    record, link = w.handlers.document("acta-1", ttl, role="gestor")

    assert record.status == "stored" and link is not None
    assert link.url == f"https://objects.test/{DOCS}/actas/acta-1.pdf?expires={int(granted.total_seconds())}"
    assert link.expires_at == NOW + timedelta(days=3) + granted


PSYCHOSOCIAL_VIEW = view(
    "acta-psi", title="Acta de intervención psicosocial", template_key="intervencion_psicosocial@1"
)


@pytest.mark.parametrize("role", ["gestor", "coordinator"])
def test_a_role_that_may_not_read_a_restricted_actas_content_gets_no_link_to_its_pdf(role: str) -> None:
    w = world({"acta-psi": PSYCHOSOCIAL_VIEW})
    w.handlers.on_acta_sealed("acta-psi")
    assert w.repo.records["acta-psi"].template_key == "intervencion_psicosocial@1"  # noted when stored

    with pytest.raises(PermissionDenied) as refused:
        w.handlers.document("acta-psi", role=role)

    assert "no puede leer el contenido" in str(refused.value)
    assert w.actas.template_lookups == []  # the record says which template it is


@pytest.mark.parametrize("role", ["psychosocial", "admin", "auditor"])
def test_the_roles_that_may_read_a_restricted_actas_content_get_the_link(role: str) -> None:
    w = world({"acta-psi": PSYCHOSOCIAL_VIEW})
    w.handlers.on_acta_sealed("acta-psi")
    record, link = w.handlers.document("acta-psi", role=role)
    assert record.status == "stored" and link is not None


def test_a_record_stored_before_the_template_was_noted_asks_the_actas_service() -> None:
    w = world({"acta-psi": PSYCHOSOCIAL_VIEW})
    w.handlers.on_acta_sealed("acta-psi")
    w.repo.records["acta-psi"] = replace(w.repo.records["acta-psi"], template_key="")  # an older record

    with pytest.raises(PermissionDenied):
        w.handlers.document("acta-psi", role="gestor")
    assert w.actas.template_lookups == ["acta-psi"]
    assert w.handlers.document("acta-psi", role="psychosocial")[1] is not None


def test_a_pending_restricted_document_is_refused_too() -> None:
    w = world({"acta-psi": PSYCHOSOCIAL_VIEW}, failures=1)
    w.handlers.on_acta_sealed("acta-psi")
    with pytest.raises(PermissionDenied):
        w.handlers.document("acta-psi", role="coordinator")


def test_an_unrestricted_acta_gives_every_role_its_link() -> None:
    w = world()
    w.handlers.on_acta_sealed("acta-1")
    for role in ("gestor", "coordinator", "psychosocial", "admin", "auditor"):
        assert w.handlers.document("acta-1", role=role)[1] is not None
