"""Operational records of the kiosk fleet: the registry of paired devices
(``register_device``, ``revoke_device``) and the rejected submissions staff review
and resolve."""

from __future__ import annotations

from services.actas.domain import submission
from services.actas.domain.errors import AlreadyExists, FieldsInvalid, NotFound
from services.actas.domain.model import Actor
from services.actas.service_layer.base import HandlersBase, bounded, require
from services.actas.service_layer.ports import RegisteredDevice, Rejection


class DeviceRegistry(HandlersBase):
    def register_device(
        self, device_id: str, public_key: str, community_id: str, description: str, actor: Actor
    ) -> RegisteredDevice:
        require(actor, "RegisterDevice")
        errors: dict[str, str] = {}
        if not device_id or len(device_id) > 64 or not device_id.replace("-", "").replace("_", "").isalnum():
            errors["id"] = "Identificador de quiosco inválido (letras, números, - y _; hasta 64)"
        try:
            submission.decode_public_key(public_key)
        except ValueError as exc:
            errors["public_key"] = str(exc)
        if errors:
            raise FieldsInvalid(errors)
        if self.repo.get_device(device_id) is not None:
            raise AlreadyExists(f"El quiosco {device_id} ya está registrado")
        device = RegisteredDevice(
            submission.Device(device_id, public_key),
            community_id,
            description.strip(),
            actor.subject,
            self.clock.now(),
        )
        self.repo.add_device(device)
        return device

    def revoke_device(self, device_id: str, actor: Actor) -> RegisteredDevice:
        require(actor, "RevokeDevice")
        revoked = self.repo.revoke_device(device_id, self.clock.now())
        if revoked is None:
            raise NotFound("quiosco", device_id)
        return revoked

    def device(self, device_id: str) -> RegisteredDevice:
        """One paired kiosk, revoked or not (the gateway checks a kiosk's key with it)."""
        found = self.repo.get_device(device_id) if device_id else None
        if found is None:
            raise NotFound("quiosco", device_id)
        return found

    def list_devices(self, actor: Actor) -> list[RegisteredDevice]:
        require(actor, "ListDevices")
        return self.repo.list_devices()

    # -- rejected submissions ------------------------------------------------------
    def list_rejections(self, include_resolved: bool, limit: int, actor: Actor) -> list[Rejection]:
        require(actor, "ListRejectedSubmissions")
        return self.repo.list_rejections(include_resolved, bounded(limit))

    def resolve_rejection(self, rejection_id: str, note: str, actor: Actor) -> Rejection:
        require(actor, "ResolveRejectedSubmission")
        if not note.strip():
            raise FieldsInvalid({"note": "Indique cómo se resolvió"})
        resolved = self.repo.resolve_rejection(rejection_id, actor.subject, note.strip())
        if resolved is None:
            raise NotFound("envío rechazado", rejection_id)
        return resolved
