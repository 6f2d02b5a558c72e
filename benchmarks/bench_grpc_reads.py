"""gRPC reads: GetBeneficiary on the real beneficiaries gRPC server versus a bare
grpcio server that answers the same bytes.

The baseline is a generic-handler servicer with identity (bytes) serializers that
returns, for every request, the serialized ``Beneficiary`` the real server returned
for the same request; it runs in a process of its own with the same thread-pool
size. Both are driven by the same client: the same channel options, request and
response (de)serializers, metadata, number of client threads and duration, in
alternating rounds so that noise on the machine falls on both.

A third, diagnostic line drives raw PyMongo ``find_one`` by ``_id`` against the same
SecantusDB with the same threads: the store's own ceiling on this machine.

``--no-tracing`` starts the stack with ``OTEL_SDK_DISABLED=true`` to show what the
synchronous span export costs (the default measures the stack as it is configured).

    python -m benchmarks.bench_grpc_reads [--threads 8] [--duration 6] [--rounds 2]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent import futures
from multiprocessing.connection import Connection
from typing import Any

import grpc
import pymongo

from benchmarks._common import ROLE, SUBJECT, Measurement, Row, drive, print_rows, running_stack
from crm_platform.grpc_support import caller_metadata
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2_grpc as pb_grpc
from services.beneficiaries.adapters.repository import DEFAULT_DB

NAME = "gRPC reads"
ECHO_METHOD = "/bench.Echo/Get"
TARGET_RATIO = 0.5


def echo_server(conn: Connection, workers: int, reply: bytes) -> None:
    """Child process: a bare grpcio server answering ``reply`` to every call, until
    the parent sends anything (or goes away)."""

    def get(request: bytes, context: grpc.ServicerContext) -> bytes:
        return reply

    handler = grpc.method_handlers_generic_handler("bench.Echo", {"Get": grpc.unary_unary_rpc_method_handler(get)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers), options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    conn.send(port)
    with contextlib.suppress(EOFError):
        conn.recv()
    server.stop(grace=1).wait()


class EchoProcess:
    def __init__(self, workers: int, reply: bytes) -> None:
        ctx = multiprocessing.get_context("spawn")  # never fork a process that runs grpcio
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=echo_server, args=(child, workers, reply), daemon=True)
        self._proc.start()
        child.close()
        if not self._conn.poll(30):
            self.stop()
            raise RuntimeError("the echo server did not start within 30s")
        self.target = f"127.0.0.1:{self._conn.recv()}"

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send("stop")
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(5)
        self._conn.close()


def server_workers() -> int:
    """The thread-pool size of the beneficiaries gRPC server (its default unless the
    environment the stack passes on sets it)."""
    return int(os.environ.get("GRPC_MAX_WORKERS", "16"))


def run(threads: int = 8, duration: float = 6.0, rounds: int = 2, max_calls: int = 200_000) -> list[Row]:
    workers = server_workers()
    with running_stack("grpc-reads") as stack:
        metadata = caller_metadata(SUBJECT, ROLE)
        channel = grpc.insecure_channel(stack.env["BENEFICIARIES_GRPC"])
        stub = pb_grpc.BeneficiariesServiceStub(channel)
        community = stub.RegisterCommunity(
            pb.RegisterCommunityRequest(name="Comunidad Benchmark", municipality="Quibdó", department="Chocó"),
            metadata=caller_metadata(SUBJECT, "coordinator"),  # communities: admins and coordinators
            timeout=10,
        )
        person = stub.RegisterBeneficiary(
            pb.RegisterBeneficiaryRequest(
                national_id=pb.NationalId(type="CC", number="1077452369"),
                first_names="María Fernanda",
                last_names="Mosquera Palacios",
                birth_date="1984-03-17",
                sex="female",
                community_id=community.id,
                whatsapp_phone="+57 310 555 0142",
                education_level="secondary",
                can_sign=True,
            ),
            metadata=metadata,
            timeout=10,
        )
        request = pb.GetBeneficiaryRequest(id=person.id)
        reply = stub.GetBeneficiary(request, metadata=metadata, timeout=10)
        reply_bytes = reply.SerializeToString()
        mongo: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(stack.env["MONGO_URI"], tz_aware=True)
        raw = mongo[os.environ.get("BENEFICIARIES_DB", DEFAULT_DB)]["beneficiaries"]
        echo = EchoProcess(workers, reply_bytes)
        try:
            echo_channel = grpc.insecure_channel(echo.target)
            echo_get = echo_channel.unary_unary(
                ECHO_METHOD,
                request_serializer=pb.GetBeneficiaryRequest.SerializeToString,
                response_deserializer=pb.Beneficiary.FromString,
            )

            def service_call(_: int) -> Any:
                return stub.GetBeneficiary(request, metadata=metadata, timeout=10)

            def echo_call(_: int) -> Any:
                return echo_get(request, metadata=metadata, timeout=10)

            def mongo_call(_: int) -> Any:
                return raw.find_one({"_id": person.id}, {"outbox": 0})

            assert echo_call(0) == reply, "the echo server must answer the same message"
            print(
                f"[{NAME}] {threads} client threads, {rounds} x {duration:.0f}s per target, "
                f"server pools of {workers} threads, reply {len(reply_bytes)} bytes",
                flush=True,
            )
            service, baseline, mongo_floor = _alternate(
                [
                    ("GetBeneficiary (beneficiaries gRPC)", service_call),
                    ("bare grpcio echo", echo_call),
                    ("raw PyMongo find_one by _id (diagnostic)", mongo_call),
                ],
                threads=threads,
                duration=duration,
                rounds=rounds,
                max_calls=max_calls,
            )
            echo_channel.close()
        finally:
            mongo.close()
            echo.stop()
        channel.close()
    for m in (service, baseline, mongo_floor):
        print(m.line())
    return [
        Row(
            NAME,
            f"GetBeneficiary throughput ({threads} client threads)",
            "req/s",
            service.rps,
            baseline.rps,
            "grpcio echo",
            f"ratio >= {TARGET_RATIO}",
            service.rps / baseline.rps >= TARGET_RATIO,
        ),
        Row(NAME, "GetBeneficiary p50", "ms", service.p50_ms, baseline.p50_ms, "grpcio echo"),
        Row(NAME, "GetBeneficiary p99", "ms", service.p99_ms, baseline.p99_ms, "grpcio echo"),
        Row(
            NAME,
            "GetBeneficiary throughput vs the store alone",
            "req/s",
            service.rps,
            mongo_floor.rps,
            "raw find_one, same threads",
        ),
    ]


def _alternate(
    targets: Sequence[tuple[str, Callable[[int], Any]]],
    *,
    threads: int,
    duration: float,
    rounds: int,
    max_calls: int,
) -> list[Measurement]:
    """Warm every target up, then measure them in alternating rounds."""
    for label, call in targets:
        drive(label, call, threads=threads, max_calls=200)
    parts: dict[str, list[Measurement]] = {label: [] for label, _ in targets}
    for _ in range(rounds):
        for label, call in targets:
            parts[label].append(drive(label, call, threads=threads, duration=duration, max_calls=max_calls // rounds))
    return [Measurement.combine(label, parts[label]) for label, _ in targets]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_grpc_reads", description=__doc__)
    parser.add_argument("--threads", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per target per round")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    parser.add_argument("--max-calls", type=int, default=200_000, help="bound on calls per target")
    parser.add_argument("--no-tracing", action="store_true", help="start the stack with OTEL_SDK_DISABLED=true")
    args = parser.parse_args(argv)
    if args.no_tracing:
        os.environ["OTEL_SDK_DISABLED"] = "true"  # inherited by the stack's processes
    rows = run(args.threads, args.duration, args.rounds, args.max_calls)
    print_rows(NAME, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
