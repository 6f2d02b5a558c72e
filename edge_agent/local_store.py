"""The kiosk's local cache (SQLite): pairing settings, acta templates, the roster of
its community, enrolled fingerprint templates and which sensor slot holds which.

Fingerprint templates are encrypted at rest with AES-256-GCM under a per-kiosk key
file (``edge_agent.keys``); the associated data binds each ciphertext to its owner,
finger and hash, so a row copied onto another person's does not decrypt. A sync
replaces templates and roster in one transaction: the kiosk never works from half
an old roster and half a new one.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from hashlib import sha256
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from edge_agent.keys import ensure_private_dir, load_or_create_template_key

DB_FILE = "kiosk.sqlite3"
NONCE_BYTES = 12

_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS acta_templates (key TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roster (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS biometrics (
    kind            TEXT NOT NULL CHECK (kind IN ('beneficiary', 'staff')),
    owner           TEXT NOT NULL,
    finger          TEXT NOT NULL,
    template_sha256 TEXT NOT NULL,
    nonce           BLOB NOT NULL,
    ciphertext      BLOB NOT NULL,
    PRIMARY KEY (kind, owner, finger)
);
CREATE TABLE IF NOT EXISTS sensor_slots (
    position        INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    owner           TEXT NOT NULL,
    finger          TEXT NOT NULL,
    template_sha256 TEXT NOT NULL
);
"""


class OwnerKind(StrEnum):
    BENEFICIARY = "beneficiary"
    STAFF = "staff"  # the gestor's own finger, enrolled on this kiosk only


class StoreError(Exception):
    """The local store is inconsistent or a stored template cannot be decrypted."""


@dataclass(frozen=True)
class Person:
    """A member of the kiosk's community, as synced (without templates)."""

    id: str
    first_names: str
    last_names: str
    national_id: str = ""
    family_id: str = ""
    can_sign: bool = True

    @property
    def full_name(self) -> str:
        return f"{self.first_names} {self.last_names}".strip()


@dataclass(frozen=True)
class Template:
    """An enrolled fingerprint template (decrypted, in memory only)."""

    kind: OwnerKind
    owner: str
    finger: str
    template_sha256: str
    data: bytes


@dataclass(frozen=True)
class TemplateRef:
    """Who a template belongs to, without its bytes."""

    kind: OwnerKind
    owner: str
    finger: str
    template_sha256: str


@dataclass(frozen=True)
class Pairing:
    device_id: str
    community_id: str
    platform_url: str


class LocalStore:
    """The kiosk's SQLite cache in ``data_dir`` (created mode 0700, database 0600)."""

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = ensure_private_dir(Path(data_dir))
        self.path = self.data_dir / DB_FILE
        self._aead = AESGCM(load_or_create_template_key(self.data_dir))
        # Created owner-only before SQLite opens it; SQLite gives -wal and -shm the same mode.
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(self.path, 0o600)
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> LocalStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- settings ------------------------------------------------------------------------
    def setting(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, key: str, value: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, value))

    def pairing(self) -> Pairing | None:
        device_id = self.setting("device_id")
        if not device_id:
            return None
        return Pairing(device_id, self.setting("community_id") or "", self.setting("platform_url") or "")

    def save_pairing(self, pairing: Pairing) -> None:
        with self._transaction() as db:
            for key in ("device_id", "community_id", "platform_url"):
                db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, getattr(pairing, key)))

    def location(self) -> tuple[float, float, float] | None:
        """The kiosk's configured location (lat, lon, accuracy in metres), if any."""
        raw = self.setting("location")
        if not raw:
            return None
        lat, lon, accuracy = json.loads(raw)
        return float(lat), float(lon), float(accuracy)

    def set_location(self, point: tuple[float, float, float] | None) -> None:
        with self._transaction() as db:
            if point is None:
                db.execute("DELETE FROM settings WHERE key = 'location'")
            else:
                db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('location', ?)", (json.dumps(point),))

    def last_sync(self) -> datetime | None:
        raw = self.setting("last_sync_at")
        return datetime.fromisoformat(raw) if raw else None

    # -- sync down ------------------------------------------------------------------------
    def apply_sync(
        self,
        templates: Sequence[dict[str, Any]],
        people: Sequence[Person],
        biometrics: Sequence[Template],
        synced_at: datetime,
    ) -> None:
        """Replace acta templates, roster and the community's enrolled templates at once.
        Staff templates (enrolled on this kiosk) are kept."""
        rows = [self._encrypt(t) for t in biometrics]
        with self._transaction() as db:
            db.execute("DELETE FROM acta_templates")
            db.executemany(
                "INSERT INTO acta_templates (key, body) VALUES (?, ?)",
                [(t["key"], json.dumps(t, ensure_ascii=False)) for t in templates],
            )
            db.execute("DELETE FROM roster")
            db.executemany(
                "INSERT INTO roster (id, body) VALUES (?, ?)",
                [(p.id, json.dumps(p.__dict__, ensure_ascii=False)) for p in people],
            )
            db.execute("DELETE FROM biometrics WHERE kind = ?", (OwnerKind.BENEFICIARY.value,))
            db.executemany(_INSERT_BIOMETRIC, rows)
            db.execute(
                "INSERT OR REPLACE INTO settings (key, value) VALUES ('last_sync_at', ?)", (synced_at.isoformat(),)
            )

    def acta_templates(self) -> list[dict[str, Any]]:
        return [json.loads(body) for (body,) in self._db.execute("SELECT body FROM acta_templates ORDER BY key")]

    def acta_template(self, key: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT body FROM acta_templates WHERE key = ?", (key,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def roster(self) -> list[Person]:
        people = [Person(**json.loads(body)) for (body,) in self._db.execute("SELECT body FROM roster")]
        return sorted(people, key=lambda p: (p.last_names.casefold(), p.first_names.casefold(), p.id))

    def person(self, person_id: str) -> Person | None:
        row = self._db.execute("SELECT body FROM roster WHERE id = ?", (person_id,)).fetchone()
        return None if row is None else Person(**json.loads(row[0]))

    # -- fingerprint templates ---------------------------------------------------------
    def add_template(self, template: Template) -> None:
        """Store (or replace) one enrolled template, e.g. right after an enrolment."""
        row = self._encrypt(template)
        with self._transaction() as db:
            db.execute(_INSERT_BIOMETRIC, row)

    def template(self, owner: str, finger: str, kind: OwnerKind = OwnerKind.BENEFICIARY) -> Template | None:
        row = self._db.execute(
            "SELECT template_sha256, nonce, ciphertext FROM biometrics WHERE kind = ? AND owner = ? AND finger = ?",
            (kind.value, owner, finger),
        ).fetchone()
        if row is None:
            return None
        return self._decrypt(kind, owner, finger, row[0], row[1], row[2])

    def templates_of(self, owner: str, kind: OwnerKind = OwnerKind.BENEFICIARY) -> list[TemplateRef]:
        return [
            TemplateRef(kind, owner, finger, digest)
            for finger, digest in self._db.execute(
                "SELECT finger, template_sha256 FROM biometrics WHERE kind = ? AND owner = ? ORDER BY finger",
                (kind.value, owner),
            )
        ]

    def all_templates(self, kind: OwnerKind = OwnerKind.BENEFICIARY) -> Iterator[Template]:
        rows = self._db.execute(
            "SELECT owner, finger, template_sha256, nonce, ciphertext FROM biometrics WHERE kind = ? "
            "ORDER BY owner, finger",
            (kind.value,),
        ).fetchall()
        for owner, finger, digest, nonce, ciphertext in rows:
            yield self._decrypt(kind, owner, finger, digest, nonce, ciphertext)

    # -- what the sensor's own library holds (for 1:N identification) --------------------
    def sensor_slots(self) -> dict[int, TemplateRef]:
        rows = self._db.execute("SELECT position, kind, owner, finger, template_sha256 FROM sensor_slots")
        return {
            int(pos): TemplateRef(OwnerKind(kind), owner, finger, digest) for pos, kind, owner, finger, digest in rows
        }

    def replace_sensor_slots(self, slots: Iterable[tuple[int, TemplateRef]]) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM sensor_slots")
            db.executemany(
                "INSERT INTO sensor_slots (position, kind, owner, finger, template_sha256) VALUES (?, ?, ?, ?, ?)",
                [(pos, ref.kind.value, ref.owner, ref.finger, ref.template_sha256) for pos, ref in slots],
            )

    def add_sensor_slot(self, position: int, ref: TemplateRef) -> None:
        with self._transaction() as db:
            db.execute(
                "DELETE FROM sensor_slots WHERE kind = ? AND owner = ? AND finger = ?",
                (ref.kind.value, ref.owner, ref.finger),
            )
            db.execute(
                "INSERT OR REPLACE INTO sensor_slots (position, kind, owner, finger, template_sha256) "
                "VALUES (?, ?, ?, ?, ?)",
                (position, ref.kind.value, ref.owner, ref.finger, ref.template_sha256),
            )

    # -- encryption at rest ------------------------------------------------------------
    def _encrypt(self, template: Template) -> tuple[str, str, str, str, bytes, bytes]:
        digest = sha256(template.data).hexdigest()
        if digest != template.template_sha256:
            raise StoreError(f"la plantilla de {template.owner} ({template.finger}) no corresponde a su hash")
        nonce = secrets.token_bytes(NONCE_BYTES)
        aad = _aad(template.kind, template.owner, template.finger, digest)
        ciphertext = self._aead.encrypt(nonce, template.data, aad)
        return (template.kind.value, template.owner, template.finger, digest, nonce, ciphertext)

    def _decrypt(
        self, kind: OwnerKind, owner: str, finger: str, digest: str, nonce: bytes, ciphertext: bytes
    ) -> Template:
        try:
            data = self._aead.decrypt(nonce, ciphertext, _aad(kind, owner, finger, digest))
        except InvalidTag:
            raise StoreError(f"la plantilla guardada de {owner} ({finger}) está dañada o fue alterada") from None
        return Template(kind, owner, finger, digest, data)


_INSERT_BIOMETRIC = (
    "INSERT OR REPLACE INTO biometrics (kind, owner, finger, template_sha256, nonce, ciphertext) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


def _aad(kind: OwnerKind, owner: str, finger: str, digest: str) -> bytes:
    return f"crm-kiosk-template\n{kind.value}\n{owner}\n{finger}\n{digest}".encode()
