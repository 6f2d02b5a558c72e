"""Bulk seeding for ``bench_web``: beneficiaries spread over communities and sealed
actas, written straight into the services' own collections in the format the
services write them (sealing 50,000 actas through the service would take an hour).

Beneficiaries: built by the domain (``RegisterBeneficiary.build``), mapped by the
repository (``_beneficiary_doc``, empty outbox), as in ``bench_lookup``. Actas: values normalised by their template
(``Template.validate``), participants as the service snapshots them, signatures
(handwritten with their image, some refusals, the gestor's electronic one last),
sealed by the domain (``Sealing``, which hashes the content) with folios drawn in
sealing order, mapped by ``services.actas.adapters.mapping.acta_doc`` with an empty
outbox (no event is published for them); the hash chain, its head and the folio
counters are written too, so ``verify_chain`` and later seals keep working.
"""

from __future__ import annotations

import hashlib
import io
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from PIL import Image
from pymongo.database import Database

from benchmarks._people import PeopleFactory
from services.actas.adapters import mapping
from services.actas.adapters.day_counts import DayCounts, day_of, monday_of
from services.actas.domain import catalogue, chain, folio
from services.actas.domain.model import Acta, GeoPoint, Method, Participant, Role, Signature, Source, Status
from services.actas.domain.sealing import Sealing
from services.beneficiaries.adapters import repository as beneficiaries_repo

BATCH = 1000
DAYS = 84  # the dashboard's 12 ISO weeks
# Template code -> share of the actas (home visits are most of the field work).
TEMPLATE_SHARES = {
    "visita_domiciliaria": 0.40,
    "capacitacion": 0.15,
    "asamblea_comunitaria": 0.05,
    "seguimiento_unidad_productiva": 0.15,
    "orientacion_fes": 0.10,
    "intervencion_psicosocial": 0.15,
}


@dataclass(frozen=True)
class Gestor:
    username: str
    full_name: str
    document: str
    title: str


def signature_png() -> bytes:
    out = io.BytesIO()
    Image.new("L", (160, 60), 255).save(out, format="PNG")
    return out.getvalue()


def seed_beneficiaries(
    mongo_uri: str, db_name: str, community_ids: Sequence[str], count: int, rng_seed: int
) -> dict[str, list[Participant]]:
    """``count`` beneficiaries, round-robin over ``community_ids``; returns each
    community's people as actas name them. Without name postings (the pages
    measured do not search people; 100,000 people have 800,000 postings, which
    would take this store a quarter of an hour)."""
    factory = PeopleFactory(rng_seed)
    beneficiaries_repo.connect(mongo_uri, db_name)
    people: dict[str, list[Participant]] = defaultdict(list)
    try:
        repo = beneficiaries_repo.MongoRepository()
        numbers = factory.numbers(count)
        now = datetime.now(UTC).replace(microsecond=0)
        started = time.perf_counter()
        for start in range(0, count, BATCH):
            docs = []
            for i, number in enumerate(numbers[start : start + BATCH], start):
                person = factory.person(number).build(community_ids[i % len(community_ids)], now)
                people[person.community_id].append(
                    Participant(person.id, "", person.full_name, f"{person.id_type} {person.id_number}")
                )
                doc = beneficiaries_repo._beneficiary_doc(person)
                doc["outbox"] = []
                docs.append(doc)
            repo.beneficiaries.insert_many(docs, ordered=False)
            done = start + len(docs)
            if done % 20_000 == 0 or done == count:
                print(f"  beneficiaries: {done:>7,} in {time.perf_counter() - started:6.1f}s", flush=True)
        return people
    finally:
        beneficiaries_repo.disconnect()


def _values(code: str, rng: random.Random, signers: list[str], i: int, when: datetime) -> dict[str, Any]:
    common: dict[str, Any] = {"fecha": when.date().isoformat(), "lugar": f"Vereda {i % 300}", "firmantes": signers}
    if rng.random() < 0.3:
        common["compromisos"] = "Volver en quince días a revisar los avances acordados."
    specific: dict[str, Callable[[], dict[str, Any]]] = {
        "visita_domiciliaria": lambda: {
            "hogar": f"hogar-{i % 5000}",
            "motivo": rng.choice(("seguimiento", "caracterizacion", "entrega_documentos", "atencion_caso")),
            "situacion_encontrada": "Familia en casa; se revisan compromisos y documentos pendientes.",
            "personas_presentes": rng.randint(1, 8),
        },
        "capacitacion": lambda: {
            "tema": "Costos y precios de venta",
            "eje": rng.choice(("emprendimiento", "empresarismo", "empleabilidad", "educacion_financiera")),
            "duracion_horas": rng.choice((1, 2, 3, 4)),
            "asistentes": rng.randint(5, 40),
        },
        "asamblea_comunitaria": lambda: {
            "orden_del_dia": "1. Saludo. 2. Informe del proyecto. 3. Varios.",
            "decisiones": "Se aprueba el cronograma de visitas.",
            "quorum": rng.choice(("si", "no")),
            "asistentes": rng.randint(10, 200),
        },
        "seguimiento_unidad_productiva": lambda: {
            "titular": signers[0],
            "estado": rng.choice(("activa", "en_riesgo", "inactiva", "cerrada")),
            "ventas_mes": rng.randint(0, 3_000_000),
            "aspectos_revisados": rng.sample(["inventario", "contabilidad", "mercadeo", "formalizacion"], 2),
            "observaciones": "Inventario al día; falta registrar las ventas de fin de semana.",
        },
        "orientacion_fes": lambda: {
            "estudiante": signers[0],
            "etapa": rng.choice(("promocion", "orientacion_vocacional", "postulacion", "matricula", "seguimiento")),
            "riesgo_desercion": rng.choice(("bajo", "medio", "alto")),
        },
        "intervencion_psicosocial": lambda: {
            "nivel": rng.choice(("comunitario", "familiar", "individual")),
            "persona": signers[0],
            "ejes": rng.sample(["salud", "adaptacion_familiar", "duelo", "convivencia"], 2),
            "resumen": "Sesión de escucha y acuerdos de convivencia en el hogar.",
        },
    }
    return {**common, **specific[code]()}


def build_actas(
    count: int,
    gestors: Sequence[Gestor],
    communities: dict[str, str],
    people: dict[str, list[Participant]],
    now: datetime,
    rng_seed: int,
) -> tuple[list[Acta], str]:
    """``count`` sealed actas captured over the last 12 weeks, in sealing order
    (folios drawn in that order); returns them and the signature image's digest."""
    rng = random.Random(rng_seed)
    templates: dict[str, Any] = {}
    for t in catalogue.CATALOGUE:  # the first version of each: its values are the ones below
        templates.setdefault(t.code, t)
    codes, weights = list(TEMPLATE_SHARES), list(TEMPLATE_SHARES.values())
    digest = hashlib.sha256(signature_png()).hexdigest()
    community_ids = sorted(communities)
    drafts: list[Acta] = []
    for i in range(count):
        template = templates[rng.choices(codes, weights)[0]]
        community_id = rng.choice(community_ids)
        signers = rng.sample(people[community_id], rng.choice((1, 1, 2, 3)))
        captured = now - timedelta(seconds=rng.randint(3600, DAYS * 86400 - 3600))
        kiosk = rng.random() < 0.7
        created = captured + timedelta(minutes=rng.randint(1, 240) if kiosk else 0)
        gestor = gestors[i % len(gestors)]
        values = template.validate(_values(template.code, rng, [p.beneficiary_id for p in signers], i, captured))
        acta = Acta(
            id=Acta.new_id(),
            template_key=template.key,
            title=template.title,
            values=values,
            participants=list(signers),
            gestor_id=gestor.username,
            community_id=community_id,
            captured_at=captured.replace(microsecond=(captured.microsecond // 1000) * 1000),
            created_at=created.replace(microsecond=(created.microsecond // 1000) * 1000),
            status=Status.DRAFT,
            source=Source.KIOSK if kiosk else Source.DESK,
            device_id=f"kiosco-{i % 12:02d}" if kiosk else "",
            submission_id=uuid.uuid4().hex if kiosk else "",
            location=GeoPoint(11.2 + rng.random() / 10, -72.5 + rng.random() / 10, 12.0) if kiosk else None,
            names={**{p.beneficiary_id: p.full_name for p in signers}, community_id: communities[community_id]},
            gestor_name=gestor.full_name,
            gestor_document=gestor.document,
            gestor_title=gestor.title,
        )
        for p in signers:
            if rng.random() < 0.1:
                acta.add_signature(
                    Signature(p.beneficiary_id, Role.PARTICIPANT, Method.REFUSED, created, refusal_reason="No quiso")
                )
            else:
                signed = Signature(p.beneficiary_id, Role.PARTICIPANT, Method.HANDWRITTEN, created, None, digest)
                acta.add_signature(signed)
        acta.add_signature(Signature(gestor.username, Role.GESTOR, Method.ELECTRONIC, created))
        drafts.append(acta)
    drafts.sort(key=lambda a: a.created_at)
    drawn: dict[str, int] = defaultdict(int)
    for acta in drafts:
        sealing = Sealing(acta, acta.created_at)
        drawn[sealing.counter] += 1
        sealing.seal(drawn[sealing.counter])
        acta.version = 1 if acta.source == Source.KIOSK else len(acta.signatures) + 2
    assert all(folio.prefix(a.template_key) in a.folio for a in drafts)
    return drafts, digest


def store_actas(db: Database[dict[str, Any]], actas: list[Acta], digest: str) -> None:
    """The actas, their chain entries, the chain head and the folio counters (the
    service's collections must hold no acta yet)."""
    assert db.chain_head.count_documents({}) == 0, "the actas database is not empty"
    png = signature_png()
    entries = chain.build((a.id, a.content_hash) for a in actas)
    counters: dict[str, int] = {}
    day_counts: Counter[tuple[str, str, str]] = Counter()  # what the seals would have counted
    started = time.perf_counter()
    for start in range(0, len(actas), BATCH):
        docs = []
        for acta, entry in zip(actas[start : start + BATCH], entries[start : start + BATCH], strict=True):
            acta.chain_seq = entry.seq
            images = {digest: png} if any(s.handwritten_sha256 for s in acta.signatures) else {}
            doc = mapping.acta_doc(acta, [], images)
            if acta.submission_id:
                doc["body_sha256"] = hashlib.sha256(acta.submission_id.encode()).hexdigest()
            doc["counted"] = DayCounts.counts(doc)
            if doc["counted"]:
                for dim, value in DayCounts.keys(doc).items():
                    day_counts[(day_of(acta.captured_at), dim, value)] += 1
            docs.append(doc)
            prefix, year, number = acta.folio.rsplit("-", 2)
            counters[f"{prefix}-{year}"] = int(number)
        db.actas.insert_many(docs, ordered=False)
        db.chain.insert_many(
            [
                {
                    "_id": e.seq,
                    "acta_id": e.acta_id,
                    "acta_hash": e.acta_hash,
                    "prev_hash": e.prev_hash,
                    "entry_hash": e.entry_hash,
                    "appended_at": a.sealed_at,
                }
                for a, e in zip(actas[start : start + BATCH], entries[start : start + BATCH], strict=True)
            ],
            ordered=False,
        )
        done = start + len(docs)
        if done % 10_000 == 0 or done == len(actas):
            print(f"  actas: {done:>7,} in {time.perf_counter() - started:6.1f}s", flush=True)
    if entries:
        db.chain_head.insert_one({"_id": "head", "seq": entries[-1].seq, "entry_hash": entries[-1].entry_hash})
    for counter, last in counters.items():
        db.folio_counters.update_one({"_id": counter}, {"$max": {"last": last}}, upsert=True)
    # The day counts CountActas reads (services/actas/adapters/day_counts.py), as
    # the seals would have kept them; the service's backfill finds nothing to add.
    rows = [
        {"_id": f"{day}|{dim}|{key}", "day": day, "dim": dim, "key": key, "n": n}
        for (day, dim, key), n in day_counts.items()
    ]
    if rows:
        db.acta_day_counts.delete_many({"_id": {"$in": [r["_id"] for r in rows]}})
        db.acta_day_counts.insert_many(rows, ordered=False)
    # And their week roll-ups, which the same seals keep.
    weeks: Counter[tuple[str, str, str]] = Counter()
    for (day, dim, key), n in day_counts.items():
        weeks[(monday_of(date.fromisoformat(day)).isoformat(), dim, key)] += n
    week_rows = [
        {"_id": f"{week}|{dim}|{key}", "week": week, "dim": dim, "key": key, "n": n}
        for (week, dim, key), n in weeks.items()
    ]
    if week_rows:
        db.acta_week_counts.delete_many({"_id": {"$in": [r["_id"] for r in week_rows]}})
        db.acta_week_counts.insert_many(week_rows, ordered=False)
