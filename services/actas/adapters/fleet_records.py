"""The kiosk fleet's records of the actas service: registered devices, pairing
codes, refused submissions, and the staff profiles an acta names its gestor from.
A mixin of ``repository.MongoRepository`` (same collections and connection), kept
apart so the acta and chain code reads on its own."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from services.actas.adapters import mapping
from services.actas.domain.errors import AlreadyExists
from services.actas.domain.model import Event
from services.actas.domain.pairing import IssuedCode
from services.actas.service_layer.ports import RegisteredDevice, Rejection, StaffProfile


class FleetRecords:
    devices: Collection
    pairing_codes: Collection
    rejections: Collection
    staff_profiles: Collection

    # -- devices -------------------------------------------------------------------
    def add_device(self, device: RegisteredDevice) -> None:
        try:
            self.devices.insert_one(mapping.device_doc(device))
        except DuplicateKeyError:
            raise AlreadyExists(f"El quiosco {device.device.device_id} ya está registrado") from None

    def get_device(self, device_id: str) -> RegisteredDevice | None:
        raw = self.devices.find_one({"_id": device_id})
        return mapping.device_from_doc(raw) if raw else None

    def revoke_device(self, device_id: str, when: datetime) -> RegisteredDevice | None:
        # Revoking twice keeps the first revocation time.
        self.devices.update_one({"_id": device_id, "revoked": False}, {"$set": {"revoked": True, "revoked_at": when}})
        return self.get_device(device_id)

    def list_devices(self) -> list[RegisteredDevice]:
        return [mapping.device_from_doc(raw) for raw in self.devices.find({}).sort("_id", 1)]

    # -- staff profiles ------------------------------------------------------------
    def put_staff(self, profile: StaffProfile) -> None:
        self.staff_profiles.replace_one({"_id": profile.username}, mapping.staff_doc(profile), upsert=True)

    def staff(self, username: str) -> StaffProfile | None:
        raw = self.staff_profiles.find_one({"_id": username})
        return mapping.staff_from_doc(raw) if raw else None

    # -- pairing codes -------------------------------------------------------------
    def add_pairing_code(self, code: IssuedCode) -> None:
        self.pairing_codes.insert_one(mapping.pairing_code_doc(code))

    def consume_pairing_code(
        self, code_sha256: str, device_id: str, public_key: str, when: datetime
    ) -> IssuedCode | None:
        # One conditional update: of two devices racing with the same code, one wins.
        raw = self.pairing_codes.find_one_and_update(
            {"_id": code_sha256, "used_at": None, "expires_at": {"$gt": when}},
            {"$set": {"used_at": when, "used_by_device": device_id, "used_with_key": public_key}},
            return_document=ReturnDocument.AFTER,
        )
        return mapping.pairing_code_from_doc(raw) if raw else None

    def pairing_code(self, code_sha256: str) -> IssuedCode | None:
        raw = self.pairing_codes.find_one({"_id": code_sha256})
        return mapping.pairing_code_from_doc(raw) if raw else None

    def release_pairing_code(self, code_sha256: str) -> None:
        self.pairing_codes.update_one(
            {"_id": code_sha256}, {"$set": {"used_at": None, "used_by_device": "", "used_with_key": ""}}
        )

    # -- rejected submissions ------------------------------------------------------
    def add_rejection(self, rejection: Rejection, events: Sequence[Event]) -> None:
        with contextlib.suppress(DuplicateKeyError):  # recorded already: a redelivery
            self.rejections.insert_one(mapping.rejection_doc(rejection, events))

    def list_rejections(self, include_resolved: bool, limit: int) -> list[Rejection]:
        selector = {} if include_resolved else {"resolved": False}
        cursor = self.rejections.find(selector, {"outbox": 0}).sort("received_at", -1).limit(limit)
        return [mapping.rejection_from_doc(raw) for raw in cursor]

    def resolve_rejection(self, rejection_id: str, by: str, note: str) -> Rejection | None:
        raw = self.rejections.find_one_and_update(
            {"_id": rejection_id},
            {"$set": {"resolved": True, "resolved_by": by, "resolution_note": note}},
            projection={"outbox": 0},
            return_document=ReturnDocument.AFTER,
        )
        return mapping.rejection_from_doc(raw) if raw else None
