"""Staff accounts, password hashing (scrypt), signed tokens (JWT, HS256)."""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from typing import Any

import jwt
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from crm_platform.access import AccessTable, allows
from gateway.errors import ApiError
from gateway.policy import DEVICE_ROLES, ROLES

ISSUER = "crm-social-gateway"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


@dataclass(frozen=True)
class User:
    username: str
    role: str
    full_name: str


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hash_password(password, bytes.fromhex(salt_hex)).split("$")[2]
    return hmac.compare_digest(candidate, digest_hex)


# A hash to check against when the user does not exist, so a login takes the
# same time whether or not the name is known.
_DUMMY_HASH = hash_password("not-a-real-password")


class UserStore:
    def __init__(self, users: Collection) -> None:
        self._users = users

    def create(self, username: str, password: str, role: str, full_name: str) -> User:
        errors: dict[str, str] = {}
        username = (username or "").strip().lower()
        if (
            not username
            or len(username) > 64
            or not username.replace(".", "").replace("-", "").replace("_", "").isalnum()
        ):
            errors["username"] = "Usuario inválido (letras, números, punto, guion)"
        if len(password or "") < 10:
            errors["password"] = "La contraseña debe tener al menos 10 caracteres"  # noqa: S105
        if role not in ROLES:
            errors["role"] = f"Rol desconocido; use uno de: {', '.join(ROLES)}"
        if errors:
            raise ApiError(400, "Solicitud inválida", errors)
        try:
            self._users.insert_one(
                {
                    "_id": username,
                    "password_hash": hash_password(password),
                    "role": role,
                    "full_name": full_name.strip() or username,
                    "active": True,
                }
            )
        except DuplicateKeyError:
            raise ApiError(409, f"El usuario {username!r} ya existe", {"username": "Ya existe"}) from None
        return User(username, role, full_name.strip() or username)

    def ensure_admin(self, password: str) -> None:
        if self._users.count_documents({"role": "admin"}, limit=1) == 0:
            self.create("admin", password, "admin", "Administrador")

    def authenticate(self, username: str, password: str) -> User:
        raw = self._users.find_one({"_id": (username or "").strip().lower(), "active": True})
        stored = raw["password_hash"] if raw else _DUMMY_HASH
        if not verify_password(password or "", stored) or raw is None:
            raise ApiError(401, "Usuario o contraseña incorrectos")
        return User(raw["_id"], raw["role"], raw.get("full_name", raw["_id"]))


class Tokens:
    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._secret = secret
        self.ttl = ttl_seconds

    def issue(self, user: User, ttl_seconds: int | None = None) -> str:
        now = int(time.time())
        claims = {
            "sub": user.username,
            "role": user.role,
            "name": user.full_name,
            "iat": now,
            "exp": now + (ttl_seconds or self.ttl),
            "iss": ISSUER,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> User:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                issuer=ISSUER,
                options={"require": ["exp", "sub", "role", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise ApiError(401, "La sesión expiró; inicie sesión de nuevo") from None
        except jwt.InvalidTokenError:
            raise ApiError(401, "Token inválido") from None
        if claims["role"] not in ROLES and claims["role"] not in DEVICE_ROLES:
            raise ApiError(401, "Token inválido")
        return User(claims["sub"], claims["role"], claims.get("name", claims["sub"]))


def require(user: User, table: AccessTable, *operations: str) -> None:
    """403 unless ``table`` (the owning service's access table, see
    ``crm_platform.access``) lets the user's role call every one of ``operations``:
    exactly the calls the service itself would refuse, refused before any work."""
    if not all(allows(table, user.role, operation) for operation in operations):
        raise ApiError(403, "Su rol no tiene permiso para esta operación")
