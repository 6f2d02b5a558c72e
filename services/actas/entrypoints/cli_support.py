"""What ``crm-social`` needs around its checks: the defaults of a running
development stack, a database reachability check whose failure reads in Spanish,
and the operator's public key from a file an auditor kept."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

DEVSTACK_ENV = Path("var") / "run" / "devstack.env"
DEVSTACK_KEYS = ("CRM_ENV", "ACTAS_GRPC", "MONGO_URI", "ACTAS_DB")
REPOSITORY = Path(__file__).resolve().parents[3]
PING_TIMEOUT_MS = 5000


class DatabaseUnreachable(Exception):
    """The database did not answer; the message says where and why, in Spanish."""


def devstack_env_file() -> Path | None:
    """``CRM_DEVSTACK_ENV``, else ``var/run/devstack.env`` under the working
    directory or the repository this command runs from."""
    named = os.environ.get("CRM_DEVSTACK_ENV")
    candidates = [Path(named)] if named else [Path.cwd() / DEVSTACK_ENV, REPOSITORY / DEVSTACK_ENV]
    return next((path for path in candidates if path.is_file()), None)


def load_devstack_env() -> Path | None:
    """Defaults from a running development stack (``devstack.env_file``); what the
    environment sets wins."""
    path = devstack_env_file()
    if path is None:
        return None
    for line in path.read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key in DEVSTACK_KEYS and value:
            os.environ.setdefault(key, value)
    return path


def redact(uri: str) -> str:
    """The URI without its password, for messages."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<URI no válida>"
    if parts.password is None:
        return uri
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def ping_database(uri: str) -> None:
    import pymongo
    from pymongo.errors import ConfigurationError, OperationFailure, PyMongoError

    where = redact(uri)
    try:
        client: pymongo.MongoClient = pymongo.MongoClient(uri, serverSelectionTimeoutMS=PING_TIMEOUT_MS)
    except (ConfigurationError, ValueError, TypeError) as exc:
        raise DatabaseUnreachable(
            f"No se pudo conectar a la base de datos en {where}: la URI no es válida ({exc})"
        ) from None
    try:
        client.admin.command("ping")
    except OperationFailure as exc:
        raise DatabaseUnreachable(
            f"No se pudo conectar a la base de datos en {where}: rechazó la conexión (código {exc.code}); "
            "revise el usuario y la contraseña"
        ) from None
    except PyMongoError as exc:
        reason = (
            "conexión rechazada" if "refused" in str(exc).lower() else f"no respondió en {PING_TIMEOUT_MS // 1000} s"
        )
        raise DatabaseUnreachable(
            f"No se pudo conectar a la base de datos en {where}: {reason}. ¿Está en marcha? Revise --mongo-uri "
            "(o MONGO_URI)"
        ) from None
    finally:
        client.close()


def os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "el archivo no existe"
    if isinstance(exc, PermissionError):
        return "sin permiso para leerlo"
    if isinstance(exc, IsADirectoryError):
        return "es un directorio, no un archivo"
    return f"error de lectura ({exc.errno})"


def parse_public_key(data: bytes) -> Ed25519PublicKey:
    from services.actas.adapters.chain_heads import load_public_key

    return load_public_key(data)


def read_public_key(path: str) -> Ed25519PublicKey:
    """A PEM file, or the JSON of ``GET /api/v1/chain/public-key`` as downloaded."""
    from services.actas.entrypoints.cli import CannotVerify

    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CannotVerify(f"No se pudo leer la clave pública {path}: {os_reason(exc)}") from None
    try:
        if raw.lstrip().startswith(b"{"):
            raw = str(json.loads(raw)["public_key_pem"]).encode()
        return parse_public_key(raw)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise CannotVerify(
            f"La clave pública {path} no es válida: se espera una clave Ed25519 en PEM o el JSON descargado de "
            "/api/v1/chain/public-key"
        ) from None
