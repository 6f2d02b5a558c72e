"""Staff accounts, password hashing (scrypt), signed tokens (JWT, HS256)."""

from __future__ import annotations

import hashlib
import hmac
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from crm_platform.access import AccessTable, allows
from gateway.errors import ApiError
from gateway.policy import DEVICE_ROLES, ROLES

ISSUER = "crm-social-gateway"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD_LENGTH = 10
REVOKED = "La sesión fue cerrada o revocada; inicie sesión de nuevo"


@dataclass(frozen=True)
class User:
    username: str
    role: str
    full_name: str
    # The account's token version when it logged in: a password change or a
    # deactivation increments it, and older tokens are refused.
    version: int = 0
    # What an acta they sign shows of them: their identity document (e.g. "CC
    # 52123456") and job title (e.g. "Psicóloga", "Coordinadora").
    document: str = ""
    title: str = ""


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

    def create(
        self, username: str, password: str, role: str, full_name: str, document: str = "", title: str = ""
    ) -> User:
        errors: dict[str, str] = {}
        username = (username or "").strip().lower()
        if (
            not username
            or len(username) > 64
            or not username.replace(".", "").replace("-", "").replace("_", "").isalnum()
        ):
            errors["username"] = "Usuario inválido (letras, números, punto, guion)"
        if len(password or "") < MIN_PASSWORD_LENGTH:
            errors["password"] = f"La contraseña debe tener al menos {MIN_PASSWORD_LENGTH} caracteres"
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
                    "document": document.strip(),
                    "title": title.strip(),
                    "active": True,
                    "token_version": 0,
                }
            )
        except DuplicateKeyError:
            raise ApiError(409, f"El usuario {username!r} ya existe", {"username": "Ya existe"}) from None
        return User(username, role, full_name.strip() or username, 0, document.strip(), title.strip())

    def ensure_admin(self, password: str) -> None:
        if self._users.count_documents({"role": "admin"}, limit=1) == 0:
            self.create("admin", password, "admin", "Administrador")

    def authenticate(self, username: str, password: str) -> User:
        raw = self._users.find_one({"_id": normalise(username), "active": True})
        stored = raw["password_hash"] if raw else _DUMMY_HASH
        if not verify_password(password or "", stored) or raw is None:
            raise ApiError(401, "Usuario o contraseña incorrectos")
        return _user(raw)

    def session_live(self, username: str, version: Any, jti: str) -> bool:
        """Whether a token of this account, version and id may still be used: the
        account is active, its version unchanged, and the token not logged out."""
        raw = self._users.find_one(
            {"_id": username}, {"active": 1, "token_version": 1, "logged_out": {"$elemMatch": {"jti": jti}}}
        )
        return (
            raw is not None
            and raw.get("active") is True
            and version == int(raw.get("token_version", 0))
            and not raw.get("logged_out")
        )

    def log_out(self, username: str, jti: str, expires: datetime) -> None:
        """Refuse one token from now on (kept on the account until it would expire anyway)."""
        self._users.update_one({"_id": username}, {"$pull": {"logged_out": {"expires": {"$lt": datetime.now(UTC)}}}})
        self._users.update_one({"_id": username}, {"$push": {"logged_out": {"jti": jti, "expires": expires}}})

    def change_password(self, username: str, new_password: str) -> User:
        """Set a new password (the caller checked the current one) and refuse every
        token issued before."""
        _check_new_password(new_password)
        raw = self._users.find_one_and_update(
            {"_id": username, "active": True},
            {"$set": {"password_hash": hash_password(new_password), "logged_out": []}, "$inc": {"token_version": 1}},
            return_document=ReturnDocument.AFTER,
        )
        if raw is None:
            raise ApiError(401, REVOKED)
        return _user(raw)

    def full_names(self, usernames: Iterable[str]) -> dict[str, str]:
        """Display names of these accounts (reports show people, not usernames)."""
        wanted = sorted(set(usernames))
        found = self._users.find({"_id": {"$in": wanted}}, {"full_name": 1})
        return {raw["_id"]: raw.get("full_name") or raw["_id"] for raw in found}

    def accounts(self) -> list[dict[str, Any]]:
        """Every staff account, for administration (no password hashes)."""
        fields = {"role": 1, "full_name": 1, "active": 1, "document": 1, "title": 1}
        return [{**raw, "username": raw["_id"]} for raw in self._users.find({}, fields).sort("_id", 1)]

    def reset_password(self, username: str, new_password: str) -> bool:
        """An administrator sets another account's password (a forgotten one): every
        token issued before is refused, on every device. Returns whether the account
        is active (a deactivated one keeps its new password for its reactivation)."""
        _check_new_password(new_password)
        raw = self._users.find_one_and_update(
            {"_id": normalise(username)},
            {"$set": {"password_hash": hash_password(new_password), "logged_out": []}, "$inc": {"token_version": 1}},
            {"active": 1},
            return_document=ReturnDocument.AFTER,
        )
        if raw is None:
            raise ApiError(404, f"El usuario {normalise(username)!r} no existe")
        return bool(raw.get("active"))

    def set_active(self, username: str, active: bool) -> None:
        """Deactivate (every token refused, no login) or reactivate an account."""
        result = self._users.update_one(
            {"_id": normalise(username)}, {"$set": {"active": active}, "$inc": {"token_version": 1}}
        )
        if result.matched_count == 0:
            raise ApiError(404, f"El usuario {normalise(username)!r} no existe")


def _check_new_password(new_password: str) -> None:
    """A new password (changed or reset) must be long enough; a 400 naming the field."""
    if len(new_password or "") < MIN_PASSWORD_LENGTH:
        raise ApiError(
            400,
            "Solicitud inválida",
            {"new_password": f"La contraseña debe tener al menos {MIN_PASSWORD_LENGTH} caracteres"},
        )


def _user(raw: dict[str, Any]) -> User:
    return User(
        raw["_id"],
        raw["role"],
        raw.get("full_name", raw["_id"]),
        int(raw.get("token_version", 0)),
        raw.get("document", ""),
        raw.get("title", ""),
    )


def normalise(username: str) -> str:
    return (username or "").strip().lower()


class RevokedTokens:
    """Logged-out tokens that belong to no account (kiosk sessions), until they expire."""

    def __init__(self, revoked: Collection) -> None:
        self._revoked = revoked

    def ensure_indexes(self) -> None:
        self._revoked.create_index("expires", expireAfterSeconds=0)

    def revoke(self, jti: str, expires: datetime) -> None:
        self._revoked.update_one({"_id": jti}, {"$set": {"expires": expires}}, upsert=True)

    def is_revoked(self, jti: str) -> bool:
        return self._revoked.count_documents({"_id": jti}, limit=1) > 0


class Tokens:
    """Signed bearer tokens. Each carries an id (``jti``) and, for people, the
    account's token version (``ver``); ``live`` (set by the app) is asked on every
    request whether the token has been revoked since, so logout, deactivation,
    password change and a kiosk's revocation take effect on the next request."""

    def __init__(self, secret: str, ttl_seconds: int, live: Callable[[dict[str, Any]], bool] | None = None) -> None:
        self._secret = secret
        self.ttl = ttl_seconds
        self.live = live

    def issue(self, user: User, ttl_seconds: int | None = None) -> str:
        now = int(time.time())
        claims = {
            "sub": user.username,
            "role": user.role,
            "name": user.full_name,
            "ver": user.version,
            "doc": user.document,
            "title": user.title,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + (ttl_seconds or self.ttl),
            "iss": ISSUER,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def decode(self, token: str) -> dict[str, Any]:
        """The claims of a validly signed, unexpired token (not checked for revocation)."""
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
        return claims

    def verify(self, token: str) -> User:
        claims = self.decode(token)
        # A token without an id predates revocation: it cannot be checked, so it is refused.
        if self.live is not None and ("jti" not in claims or not self.live(claims)):
            raise ApiError(401, REVOKED)
        return User(
            claims["sub"],
            claims["role"],
            claims.get("name", claims["sub"]),
            claims.get("ver", 0),
            str(claims.get("doc", "")),
            str(claims.get("title", "")),
        )


def require(user: User, table: AccessTable, *operations: str) -> None:
    """403 unless ``table`` (the owning service's access table, see
    ``crm_platform.access``) lets the user's role call every one of ``operations``:
    exactly the calls the service itself would refuse, refused before any work."""
    if not all(allows(table, user.role, operation) for operation in operations):
        raise ApiError(403, "Su rol no tiene permiso para esta operación")
