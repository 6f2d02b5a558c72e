"""``crm-social``: operator commands. ``crm-social verify`` recomputes the hash
chain of sealed actas and names every altered, reordered or missing record.

Two ways to ask:
- through the actas service (``--grpc host:port``, the default), as an auditor;
- straight from the database (``--mongo-uri``), so an auditor need not trust the
  running service to check its records.

``--head FILE`` also checks the database against a signed chain head an auditor
kept (``GET /api/v1/chain/heads/latest``): its signature against the operator's
public key (``--public-key FILE``, else asked of the actas service), then the
stored chain up to it, so a rewrite behind the head is found even when the whole
chain was recomputed after it.

Defaults come from the environment (``ACTAS_GRPC``, ``MONGO_URI``, ``ACTAS_DB``)
and, when a development stack is running, from its ``var/run/devstack.env``.

Exit status: 0 the chain is intact, 1 problems were found, 2 the check could not run.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crm_platform.config import ConfigError, setting
from crm_platform.grpc_support import caller_metadata
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2_grpc as apb_grpc
from services.actas.domain import heads
from services.actas.domain.chain import ChainProblem
from services.actas.entrypoints import cli_support as support

KINDS_ES = {
    "altered_entry": "entrada alterada",
    "altered_acta": "acta alterada",
    "broken_link": "enlace roto",
    "missing": "registros faltantes",
    "out_of_order": "fuera de orden",
    "unchained_acta": "acta sin encadenar",
    "rewritten": "cadena reescrita",
    "forged_head": "cabeza falsificada",
}
DEFAULT_GRPC = "127.0.0.1:50052"


class CannotVerify(Exception):
    """The check could not run; the message (Spanish) says why and what to do."""


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


def _metadata(subject: str) -> list[tuple[str, str]]:
    try:
        return caller_metadata(subject, "auditor")
    except ConfigError:
        raise CannotVerify(
            "No se pudo identificar ante el servicio de actas: falta CRM_INTERNAL_SECRET o no es válido "
            "(fuera del modo de desarrollo no tiene valor por defecto). Con devstack en marcha basta con "
            "ejecutar el comando desde el repositorio; si no, use --mongo-uri para verificar en la base de datos."
        ) from None


def _grpc_failure(target: str, exc: grpc.RpcError) -> CannotVerify:
    code = exc.code()
    if code == grpc.StatusCode.UNAVAILABLE:
        return CannotVerify(
            f"No se pudo conectar al servicio de actas en {target}: no responde. ¿Está en marcha? "
            "Indique --grpc host:puerto (o ACTAS_GRPC), o --mongo-uri para verificar directamente en la base de datos."
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return CannotVerify(f"No se pudo verificar: el servicio de actas en {target} no respondió a tiempo")
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return CannotVerify(
            f"El servicio de actas en {target} rechazó la identidad de quien verifica: "
            "revise CRM_INTERNAL_SECRET (debe ser el mismo del servicio)"
        )
    return CannotVerify(
        f"No se pudo verificar: el servicio de actas en {target} respondió con un error ({code.name}): {exc.details()}"
    )


def _verify_grpc(target: str, acta_id: str, subject: str) -> int:
    metadata = _metadata(subject)
    with grpc.insecure_channel(target) as channel:
        stub = apb_grpc.ActasServiceStub(channel)
        try:
            if acta_id:
                reply = stub.VerifyActa(apb.VerifyActaRequest(acta_id=acta_id), metadata=metadata, timeout=30)
                if reply.valid:
                    print(
                        f"Acta {acta_id} íntegra. Hash {reply.content_hash}, posición {reply.chain_seq} en la cadena."
                    )
                    return 0
                return _print_report(1, reply.content_hash, reply.problems)
            chain = stub.VerifyChain(apb.VerifyChainRequest(), metadata=metadata, timeout=600)
        except grpc.RpcError as exc:
            raise _grpc_failure(target, exc) from None
        return _print_report(chain.entries, chain.head_hash, chain.problems)


def _service_public_key(target: str, subject: str) -> Ed25519PublicKey:
    with grpc.insecure_channel(target) as channel:
        stub = apb_grpc.ActasServiceStub(channel)
        try:
            reply = stub.GetChainPublicKey(apb.GetChainPublicKeyRequest(), metadata=_metadata(subject), timeout=30)
        except grpc.RpcError as exc:
            raise _grpc_failure(target, exc) from None
    print(
        f"Clave pública del operador {reply.key_id}, pedida al servicio de actas en {target} "
        "(para no depender del servicio, use --public-key con la clave que guardó).",
        file=sys.stderr,
    )
    return support.parse_public_key(reply.public_key_pem.encode())


def _read_head(path: str) -> heads.SignedHead:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CannotVerify(f"No se pudo leer la cabeza de cadena {path}: {support.os_reason(exc)}") from None
    try:
        return heads.from_json(json.loads(raw))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CannotVerify(f"La cabeza de cadena {path} no es JSON válido") from None
    except heads.InvalidHead as exc:
        raise CannotVerify(f"La cabeza de cadena {path} no es válida: {exc}") from None


def _verify_database(
    mongo_uri: str, db_name: str, head: heads.SignedHead | None = None, key: Ed25519PublicKey | None = None
) -> int:
    from services.actas.adapters import repository
    from services.actas.adapters.chain_heads import MongoHeadStore
    from services.actas.service_layer.handlers import verify_chain

    support.ping_database(mongo_uri)
    repository.connect(mongo_uri, db_name)
    try:
        repo = repository.MongoRepository()
        report = verify_chain(repo)
        problems = list(report.problems)
        if head is not None and key is not None:
            stored = MongoHeadStore().all()
            forged = [h for h in stored if not h.signed_by(key)]
            problems = [
                *heads.check_against(list(repo.chain_in_order()), [head, *(h for h in stored if h not in forged)]),
                *(
                    ChainProblem("forged_head", h.chain_seq, "", "cabeza guardada cuya firma no es del operador")
                    for h in forged
                ),
                *problems,
            ]
    finally:
        repository.disconnect()
    code = _print_report(report.entries, report.head_hash, problems)
    if head is not None and code == 0:
        print(
            f"Coincide con la cabeza firmada: entrada {head.chain_seq}, hash {head.head_hash}, "
            f"firmada el {head.statement()['signed_at']} (clave {head.key_id})."
        )
    return code


def _verify_head(args: argparse.Namespace) -> int:
    head = _read_head(args.head)
    key = support.read_public_key(args.public_key) if args.public_key else _service_public_key(args.grpc, args.subject)
    if not head.signed_by(key):
        print(
            f"La firma de la cabeza {args.head} no es válida para la clave pública del operador "
            f"({heads.key_id(key)}): la cabeza fue alterada o no la firmó el operador. No se usa.",
            file=sys.stderr,
        )
        return 1
    mongo_uri = args.mongo_uri or os.environ.get("MONGO_URI", "")
    if not mongo_uri:
        raise CannotVerify(
            "No se pudo verificar: --head compara la base de datos con la cabeza; indique --mongo-uri (o MONGO_URI)"
        )
    return _verify_database(mongo_uri, args.db, head, key)


def main(argv: Sequence[str] | None = None) -> int:
    devstack = support.load_devstack_env()
    if devstack is not None:
        print(f"Usando la configuración del entorno de desarrollo en {devstack}", file=sys.stderr)
    parser = argparse.ArgumentParser(prog="crm-social", description="Comandos de operación de CRM Social")
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="Verificar la cadena de actas selladas")
    verify.add_argument("--acta", default="", help="verificar solo esta acta")
    verify.add_argument("--grpc", default=setting("ACTAS_GRPC", DEFAULT_GRPC), help="servicio de actas")
    verify.add_argument("--mongo-uri", default="", help="verificar directamente en la base de datos")
    verify.add_argument("--db", default=setting("ACTAS_DB", "crm_actas"), help="base de datos de actas")
    verify.add_argument("--as", dest="subject", default=getpass.getuser(), help="quién verifica (auditoría)")
    verify.add_argument("--head", default="", help="cabeza de cadena firmada (JSON) contra la que verificar")
    verify.add_argument("--public-key", default="", help="clave pública del operador (PEM o JSON descargado)")
    args = parser.parse_args(argv)
    try:
        if args.head:
            if args.acta:
                parser.error("--head verifica la cadena entera (sin --acta)")
            return _verify_head(args)
        if args.mongo_uri:
            if args.acta:
                parser.error("--acta se verifica a través del servicio (sin --mongo-uri)")
            return _verify_database(args.mongo_uri, args.db)
        return _verify_grpc(args.grpc, args.acta, args.subject)
    except (CannotVerify, support.DatabaseUnreachable) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except Exception as exc:
        print(f"No se pudo verificar: error inesperado ({type(exc).__name__}): {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
