"""Operational records of the kiosk fleet: the registry of paired devices (a
coordinator ``issue_pairing_code``s, the device ``pair_device``s with it; also
``register_device`` by a coordinator, ``revoke_device``) and the rejected
submissions staff review and resolve.

Every device is scoped to exactly one community: the community of the code it
paired with. Devices registered before that rule, with no community, are treated as
not paired by the gateway's roster.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.actas.domain import pairing, submission
from services.actas.domain.errors import AlreadyExists, FieldsInvalid, NotFound, PairingRefused
from services.actas.domain.model import Actor
from services.actas.service_layer.base import HandlersBase, bounded, require
from services.actas.service_layer.ports import RegisteredDevice, Rejection


@dataclass(frozen=True)
class NewPairingCode:
    """A code just issued: the only time its plain text exists outside the device."""

    code: str
    issued: pairing.IssuedCode


class DeviceRegistry(HandlersBase):
    def register_device(
        self, device_id: str, public_key: str, community_id: str, description: str, actor: Actor
    ) -> RegisteredDevice:
        """A coordinator registers a device directly (its key known out of band)."""
        require(actor, "RegisterDevice")
        errors = _device_errors(device_id, public_key)
        if not community_id.strip():
            errors["community_id"] = "Indique la comunidad del quiosco: cada quiosco atiende una sola comunidad"
        if errors:
            raise FieldsInvalid(errors)
        if self.repo.get_device(device_id) is not None:
            raise AlreadyExists(f"El quiosco {device_id} ya está registrado")
        device = RegisteredDevice(
            submission.Device(device_id, public_key),
            community_id.strip(),
            description.strip(),
            actor.subject,
            self.clock.now(),
        )
        self.repo.add_device(device)
        return device

    def issue_pairing_code(self, community_id: str, description: str, actor: Actor) -> NewPairingCode:
        require(actor, "IssuePairingCode")
        if not community_id.strip():
            raise FieldsInvalid({"community_id": "Indique la comunidad para la que se empareja el quiosco"})
        code = pairing.new_code()
        now = self.clock.now()
        issued = pairing.IssuedCode(
            pairing.code_hash(code),
            community_id.strip(),
            description.strip(),
            actor.subject,
            now,
            now + pairing.CODE_LIFETIME,
        )
        self.repo.add_pairing_code(issued)
        return NewPairingCode(pairing.display(code), issued)

    def pair_device(
        self, code: str, device_id: str, public_key: str, description: str, actor: Actor
    ) -> RegisteredDevice:
        """A device pairs itself with a one-time code: it is registered for the code's
        community, on behalf of the coordinator who issued the code. Retrying with the
        same code, id and key after a lost reply returns the same device."""
        require(actor, "PairDevice")
        errors = _device_errors(device_id, public_key)
        if errors:
            raise FieldsInvalid(errors)
        typed = pairing.normalise(code)
        if typed is None:
            raise PairingRefused()
        key = pairing.code_hash(typed)
        now = self.clock.now()
        issued = self.repo.consume_pairing_code(key, device_id, public_key, now)
        if issued is None:
            return self._repaired(key, device_id, public_key)
        if self.repo.get_device(device_id) is not None:
            self.repo.release_pairing_code(key)
            raise AlreadyExists(f"El quiosco {device_id} ya está registrado; elija otro identificador")
        device = RegisteredDevice(
            submission.Device(device_id, public_key),
            issued.community_id,
            description.strip() or issued.description,
            issued.issued_by,
            now,
        )
        try:
            self.repo.add_device(device)
        except AlreadyExists:
            self.repo.release_pairing_code(key)
            raise
        return device

    def _repaired(self, key: str, device_id: str, public_key: str) -> RegisteredDevice:
        used = self.repo.pairing_code(key)
        if used is None or used.used_by_device != device_id or used.used_with_key != public_key:
            raise PairingRefused()
        device = self.repo.get_device(device_id)
        if device is None or device.device.revoked:
            raise PairingRefused()
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


def _device_errors(device_id: str, public_key: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not device_id or len(device_id) > 64 or not device_id.replace("-", "").replace("_", "").isalnum():
        errors["id"] = "Identificador de quiosco inválido (letras, números, - y _; hasta 64)"
    try:
        submission.decode_public_key(public_key)
    except ValueError as exc:
        errors["public_key"] = str(exc)
    return errors
