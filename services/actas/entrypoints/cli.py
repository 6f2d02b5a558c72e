"""``crm-social``: operator commands. ``crm-social verify`` recomputes the hash
chain of sealed actas and names every altered, reordered or missing record.

Two ways to ask:
- through the actas service (``--grpc host:port``, the default), as an auditor;
- straight from the database (``--mongo-uri``), so an auditor need not trust the
  running service to check its records.

Exit status: 0 the chain is intact, 1 problems were found, 2 the check could not run.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

import grpc

from crm_platform.config import setting
from crm_platform.grpc_support import caller_metadata
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2_grpc as apb_grpc
from services.actas.domain.chain import ChainProblem

KINDS_ES = {
    "altered_entry": "entrada alterada",
    "altered_acta": "acta alterada",
    "broken_link": "enlace roto",
    "missing": "registros faltantes",
    "out_of_order": "fuera de orden",
    "unchained_acta": "acta sin encadenar",
}


def _print_report(entries: int, head: str, problems: Sequence[ChainProblem | apb.ChainProblem]) -> int:
    if not problems:
        print(f"Cadena íntegra: {entries} actas selladas verificadas. Último hash: {head}")
        return 0
    print(f"Se encontraron {len(problems)} problemas en la cadena de {entries} entradas:")
    for p in problems:
        where = f"entrada {p.seq}" if p.seq else "sin entrada"
        acta = f" acta {p.acta_id}" if p.acta_id else ""
        print(f"  - [{KINDS_ES.get(p.kind, p.kind)}] {where}{acta}: {p.detail}")
    return 1


def _verify_grpc(target: str, acta_id: str, subject: str) -> int:
    metadata = caller_metadata(subject, "auditor")
    with grpc.insecure_channel(target) as channel:
        stub = apb_grpc.ActasServiceStub(channel)
        if acta_id:
            reply = stub.VerifyActa(apb.VerifyActaRequest(acta_id=acta_id), metadata=metadata, timeout=30)
            if reply.valid:
                print(f"Acta {acta_id} íntegra. Hash {reply.content_hash}, posición {reply.chain_seq} en la cadena.")
                return 0
            return _print_report(1, reply.content_hash, reply.problems)
        chain = stub.VerifyChain(apb.VerifyChainRequest(), metadata=metadata, timeout=600)
        return _print_report(chain.entries, chain.head_hash, chain.problems)


def _verify_database(mongo_uri: str, db_name: str) -> int:
    from services.actas.adapters import repository
    from services.actas.service_layer.handlers import verify_chain

    repository.connect(mongo_uri, db_name)
    try:
        report = verify_chain(repository.MongoRepository())
    finally:
        repository.disconnect()
    return _print_report(report.entries, report.head_hash, report.problems)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crm-social", description="Comandos de operación de CRM Social")
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="Verificar la cadena de actas selladas")
    verify.add_argument("--acta", default="", help="verificar solo esta acta")
    verify.add_argument("--grpc", default=setting("ACTAS_GRPC", "127.0.0.1:50052"), help="servicio de actas")
    verify.add_argument("--mongo-uri", default="", help="verificar directamente en la base de datos")
    verify.add_argument("--db", default=setting("ACTAS_DB", "crm_actas"), help="base de datos de actas")
    verify.add_argument("--as", dest="subject", default=getpass.getuser(), help="quién verifica (auditoría)")
    args = parser.parse_args(argv)
    try:
        if args.mongo_uri:
            if args.acta:
                parser.error("--acta se verifica a través del servicio (sin --mongo-uri)")
            return _verify_database(args.mongo_uri, args.db)
        return _verify_grpc(args.grpc, args.acta, args.subject)
    except grpc.RpcError as exc:
        print(f"No se pudo verificar: {exc.details()} ({exc.code().name})", file=sys.stderr)
        return 2
    except Exception as exc:
        print(f"No se pudo verificar: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
