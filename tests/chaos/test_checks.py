"""The fault suite's checks on made-up records (no I/O): each violation is found
and named, so a passing scenario means the invariant held, not that the check
looked the other way."""

from __future__ import annotations

from pathlib import Path

from tests.chaos.harness import (
    DUPLICATES,
    NOTIFICATIONS,
    SEALED,
    Cohort,
    Result,
    Snapshot,
    accepted_messages,
    check_notifications,
    check_seals,
)

LINK = "http://127.0.0.1:8080/verificar"


def cohort() -> Cohort:
    return Cohort("unit", "kiosco-1", "fam-1", {"p1": "573101111111", "p2": "573102222222"}, [])


def acta(acta_id: str, submission_id: str, seq: int, *people: str) -> dict[str, object]:
    return {"_id": acta_id, "submission_id": submission_id, "chain_seq": seq, "participant_ids": list(people)}


def log_line(at: str, text: str) -> str:
    return f"2026-12-06 {at} devstack.providers.x {text}"


def test_the_stand_ins_log_gives_each_accepted_message_its_recipient_and_acta(tmp_path: Path) -> None:
    log = tmp_path / "providers.log"
    log.write_text(
        "\n".join(
            [
                "WHATSAPP_BASE_URL=http://127.0.0.1:1",
                "ready",
                log_line(
                    "04:00:00,001",
                    "whatsapp: accepted wamid.AB+c/1= to +573101111111: template acta_sellada "
                    f"['María', 'Acta de visita', '5 de diciembre', '{LINK}/a1']",
                ),
                log_line("04:00:00,002", f"sms: accepted SM0123abcd to +573102222222: Hola, su acta: {LINK}/a2"),
                log_line("04:00:00,003", "whatsapp: accepted something we cannot read"),
            ]
        )
    )
    found, unreadable = accepted_messages(log)
    assert [(m.channel, m.provider_id, m.to, m.acta_id, m.at) for m in found] == [
        ("whatsapp", "wamid.AB+c/1=", "573101111111", "a1", "04:00:00,001"),
        ("sms", "SM0123abcd", "573102222222", "a2", "04:00:00,002"),
    ]
    assert len(unreadable) == 1


def test_a_lost_a_twice_sealed_and_a_refused_submission_are_each_named() -> None:
    state = Snapshot(
        actas=[acta("a1", "s1", 1), acta("a2", "s2", 2), acta("a3", "s2", 3), acta("a4", "s4", 3)],
        rejections=[{"submission_id": "s5", "reason": "bad_signature", "detail": "firma"}],
        documents={},
        notifications={},
    )
    result = Result("unit")
    check_seals(result, cohort(), ["s1", "s2", "s3", "s4", "s5"], state)
    assert (result.sent, result.sealed, result.duplicates) == (5, 3, 2)
    assert result.violations[SEALED] == [
        "submission s3: confirmed by the broker, never sealed",
        "submission s5: refused (bad_signature: firma), not sealed",
    ]
    assert result.violations[DUPLICATES] == [
        "submission s2: sealed 2 times (actas a2, a3)",
        "chain position 3 held by 2 actas",
    ]


def test_a_message_sent_twice_one_never_sent_and_one_about_an_unsealed_acta_are_each_named(tmp_path: Path) -> None:
    log = tmp_path / "providers.log"
    lines = [
        ("04:00:01,000", "573101111111", "a1"),
        ("04:02:01,000", "573101111111", "a1"),  # the same message again, two minutes later
        ("04:00:02,000", "573101111111", "lost"),  # an acta the store lost
        ("04:00:03,000", "573109999999", "a2"),  # someone else's
    ]
    log.write_text(
        "\n".join(
            log_line(at, f"whatsapp: accepted wamid.{i} to +{to}: template acta_sellada ['x', 'y', 'z', '{LINK}/{a}']")
            for i, (at, to, a) in enumerate(lines)
        )
    )
    state = Snapshot(
        actas=[acta("a1", "s1", 1, "p1"), acta("a2", "s2", 2, "p2")],
        rejections=[],
        documents={},
        notifications={
            "acta_sealed:a1:p1": {"status": "queued"},
            "acta_sealed:a2:p2": {"status": "failed", "reason": "sin canal"},
        },
    )
    result = Result("unit")
    check_notifications(result, cohort(), state, accepted_messages(log)[0])
    assert result.violations[NOTIFICATIONS] == [
        "acta_sealed:a1:p1: accepted 2 times by the stand-ins (whatsapp wamid.0 at 04:00:01,000, "
        "whatsapp wamid.1 at 04:02:01,000)",
        "acta_sealed:a1:p1: accepted by a stand-in, but the delivery log says queued ()",
        "acta_sealed:a2:p2: never accepted by a provider stand-in (delivery log: failed (sin canal))",
        "acta_sealed:lost:p1: accepted 1 times, about an acta that was never sealed",
    ]
