"""Kiosk submission ingestion end to end, and verification of the hash chain.

Ingestion: 5,000 device-signed kiosk submissions (two participants each, one
fingerprint with enrolment evidence and one handwritten signature, the gestor
last) are published to ``actas.kiosk_submissions`` with publisher confirms; the
clock stops when the last acta is sealed in MongoDB. Each one is verified
(Ed25519 over the exact bytes, the device registry), de-duplicated, validated
against its template, its participants resolved over gRPC from the beneficiaries
service, its evidence checked against the enrolment, then sealed and chained in
one transaction, and ``acta_received``/``acta_sealed`` published from the outbox.
Baseline in the same run: a raw PyMongo ``insert_one`` of the very documents the
service stored, into a scratch collection with the same indexes.

Chain verification: a 10,000-entry chain (sealed actas built with the domain
model, stored with ``insert_many``) recomputed by ``handlers.verify_chain``
(every entry hash, every link, every acta's content hash). Baseline: reading the
same two collections raw.

    python -m benchmarks.bench_actas [--count 5000] [--chain 10000]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pymongo
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kombu import Connection, Producer
from PIL import Image

from benchmarks._common import Row, print_rows, running_stack
from crm_platform import submission_bus as bus
from crm_platform.grpc_support import caller_metadata
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2_grpc as apb_grpc
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2_grpc as pb_grpc
from edge_agent import submissions as kiosk
from services.actas.adapters import repository
from services.actas.adapters.repository import _acta_doc
from services.actas.domain import chain
from services.actas.domain.model import Acta, Method, Participant, Role, Signature, Source, Status
from services.actas.domain.submission import public_key_b64
from services.actas.service_layer.handlers import verify_chain

NAME = "actas"
PEOPLE = 40
TEMPLATE = bytes(range(256)) * 2
TEMPLATE_SHA = hashlib.sha256(TEMPLATE).hexdigest()


def _as(role: str) -> list[tuple[str, str]]:
    # Signed when called: the stack provides the signing settings at start-up.
    return caller_metadata("benchmark", role)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("L", (160, 60), 255).save(out, format="PNG")
    return out.getvalue()


def _letters(n: int) -> str:
    """A name part from a number: names may not hold digits."""
    return "".join("ABCDEFGHIJ"[int(d)] for d in str(n)).capitalize()


def _roster(channel: grpc.Channel) -> list[tuple[str, str]]:
    """(beneficiary id, family id) of people who enrolled a right index finger."""
    stub = pb_grpc.BeneficiariesServiceStub(channel)
    community = stub.RegisterCommunity(
        pb.RegisterCommunityRequest(name="Comunidad de carga", municipality="Barrancas", department="La Guajira"),
        metadata=_as("coordinator"),  # communities: admins and coordinators
    )
    people = []
    for n in range(PEOPLE):
        family = stub.RegisterFamily(
            pb.RegisterFamilyRequest(community_id=community.id, name=f"Hogar {n}"), metadata=_as("gestor")
        )
        person = stub.RegisterBeneficiary(
            pb.RegisterBeneficiaryRequest(
                national_id=pb.NationalId(type="CC", number=str(1_100_000_000 + n)),
                first_names=f"Persona {_letters(n)}",
                last_names="Carga Prueba",
                birth_date="1980-01-01",
                sex="female",
                family_id=family.id,
                relationship="head",
            ),
            metadata=_as("gestor"),
        )
        stub.RecordConsent(pb.RecordConsentRequest(beneficiary_id=person.id, kind="biometrics"), metadata=_as("gestor"))
        stub.StoreBiometricTemplate(
            pb.StoreBiometricTemplateRequest(beneficiary_id=person.id, finger="right_index", template=TEMPLATE),
            metadata=_as("gestor"),
        )
        people.append((person.id, family.id))
    return people


def _submissions(count: int, device_id: str, key: Ed25519PrivateKey, people: list[tuple[str, str]]) -> list[bytes]:
    png = _png()
    out = []
    for i in range(count):
        (first, family), (second, _) = people[i % len(people)], people[(i + 1) % len(people)]
        body = kiosk.body(
            submission_id=uuid.uuid4().hex,
            device_id=device_id,
            template_key="visita_domiciliaria@1",
            values={
                "fecha": "2026-11-20",
                "lugar": f"Lote {i}",
                "hogar": family,
                "motivo": "seguimiento",
                "situacion_encontrada": "Visita de seguimiento sin novedades.",
                "personas_presentes": 2,
                "firmantes": [first, second],
            },
            signatures=[
                kiosk.fingerprint_signature(
                    first, score=150, finger="right_index", sensor_id="ZFM-20 #carga", template_sha256=TEMPLATE_SHA
                ),
                kiosk.handwritten_signature(second, png),
                kiosk.handwritten_signature("benchmark", png, role="gestor"),
            ],
            gestor_id="benchmark",
        )
        out.append(kiosk.envelope(body, key))
    return out


def _ingestion(stack: Any, count: int, pause_documents: bool = True) -> tuple[float, float, int]:
    """(seconds to seal all, raw insert seconds, actas stored)."""
    with grpc.insecure_channel(stack.env["BENEFICIARIES_GRPC"]) as channel:
        people = _roster(channel)
    key = Ed25519PrivateKey.generate()
    with grpc.insecure_channel(stack.env["ACTAS_GRPC"]) as channel:
        apb_grpc.ActasServiceStub(channel).RegisterDevice(
            apb.RegisterDeviceRequest(id="kiosco-carga", public_key=public_key_b64(key), community_id="com-carga"),
            metadata=_as("coordinator"),
        )
    messages = _submissions(count, "kiosco-carga", key, people)
    if pause_documents:
        # PDF rendering has its own benchmark; here it would only compete for the same 2 cores.
        for managed in stack.processes:
            if managed.name == "documents":
                managed.stop()
    client: pymongo.MongoClient = pymongo.MongoClient(stack.env["MONGO_URI"])
    actas = client[repository.DEFAULT_DB].actas
    try:
        started = time.perf_counter()
        with Connection(stack.env["AMQP_URI"], transport_options={"confirm_publish": True}) as conn:
            producer = Producer(conn.default_channel)
            for raw in messages:
                bus.publish(producer, raw)
        published = time.perf_counter() - started
        print(f"[{NAME}] {count} submissions published with confirms in {published:.1f}s", flush=True)
        deadline = time.monotonic() + 1800
        stored = 0
        while stored < count and time.monotonic() < deadline:
            time.sleep(0.5)
            stored = actas.count_documents({"source": "kiosk", "status": "sealed"})
        ingest_seconds = time.perf_counter() - started
        print(f"[{NAME}] {stored} actas sealed in {ingest_seconds:.1f}s", flush=True)

        docs = list(actas.find({"source": "kiosk"}))
        scratch = client["crm_bench_scratch"].actas_raw
        scratch.drop()
        for index in actas.list_indexes():
            if index["name"] != "_id_":
                options = {k: v for k, v in index.items() if k not in ("key", "v", "ns")}
                scratch.create_index(list(index["key"].items()), **options)
        raw_started = time.perf_counter()
        for doc in docs:
            scratch.insert_one(doc)
        raw_seconds = time.perf_counter() - raw_started
        client.drop_database("crm_bench_scratch")
        return ingest_seconds, raw_seconds, stored
    finally:
        client.close()


def _chain_verification(stack: Any, size: int) -> tuple[float, float, int]:
    """(verify seconds, raw read seconds, problems found)."""
    db_name = "crm_bench_chain"
    client: pymongo.MongoClient = pymongo.MongoClient(stack.env["MONGO_URI"])
    client.drop_database(db_name)
    repository.connect(stack.env["MONGO_URI"], db_name)
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        actas_docs, records = [], []
        for i in range(size):
            acta = Acta(
                id=uuid.uuid4().hex,
                template_key="capacitacion@1",
                title="Acta de capacitación",
                values={"fecha": "2026-11-20", "lugar": "Salón comunal", "tema": f"Tema {i}", "firmantes": ["p1"]},
                participants=[Participant("p1", "f1", "Persona Uno", "CC 1")],
                gestor_id="benchmark",
                community_id="c1",
                captured_at=now - timedelta(minutes=i),
                created_at=now,
                status=Status.DRAFT,
                source=Source.DESK,
            )
            acta.add_signature(Signature("p1", Role.PARTICIPANT, Method.REFUSED, now, refusal_reason="No firma"))
            acta.add_signature(Signature("benchmark", Role.GESTOR, Method.ELECTRONIC, now))
            acta.seal(now)
            acta.version = 1
            records.append((acta.id, acta.content_hash))
            actas_docs.append(acta)
        entries = chain.build(records)
        for acta, entry in zip(actas_docs, entries, strict=True):
            acta.chain_seq = entry.seq
        db = client[db_name]
        for start in range(0, size, 1000):
            db.actas.insert_many([_acta_doc(a, [], {}) for a in actas_docs[start : start + 1000]])
            db.chain.insert_many(
                [
                    {
                        "_id": e.seq,
                        "acta_id": e.acta_id,
                        "acta_hash": e.acta_hash,
                        "prev_hash": e.prev_hash,
                        "entry_hash": e.entry_hash,
                        "appended_at": now,
                    }
                    for e in entries[start : start + 1000]
                ]
            )
        started = time.perf_counter()
        report = verify_chain(repository.MongoRepository())
        verify_seconds = time.perf_counter() - started
        raw_started = time.perf_counter()
        list(db.chain.find({}).sort("_id", 1))
        list(db.actas.find({"status": "sealed"}, {"images": 0, "outbox": 0}))
        raw_seconds = time.perf_counter() - raw_started
        assert report.entries == size, report.entries
        return verify_seconds, raw_seconds, len(report.problems)
    finally:
        repository.disconnect()
        client.drop_database(db_name)
        client.close()


def run(count: int = 5000, chain_size: int = 10_000) -> list[Row]:
    with running_stack("actas") as stack:
        ingest_s, raw_s, stored = _ingestion(stack, count)
        verify_s, read_s, problems = _chain_verification(stack, chain_size)
    rows = [
        Row(
            NAME,
            f"kiosk ingestion, {count:,} submissions end to end (verified, stored, sealed, chained)",
            "actas/s",
            stored / ingest_s,
            len_or_nan(stored, raw_s),
            "raw insert_one of the same documents",
            target=f"all {count:,} stored once",
            passed=stored == count,
        ),
        Row(
            NAME,
            f"verify a {chain_size:,}-entry chain (entries, links, acta hashes); problems found: {problems}",
            "s",
            verify_s,
            read_s,
            "raw read of both collections",
            target="0 problems",
            passed=problems == 0,
        ),
    ]
    print_rows(NAME, rows)
    return rows


def len_or_nan(stored: int, seconds: float) -> float:
    return stored / seconds if seconds > 0 else float("nan")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_actas", description=__doc__)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--chain", type=int, default=10_000)
    args = parser.parse_args(argv)
    run(args.count, args.chain)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
