"""Typed errors of the notifications domain: a message that cannot be built.

They are raised before anything is sent, so nothing half-filled ever leaves. Their
text is recorded as the reason in the delivery log; it names the offending input.
"""

from __future__ import annotations

from collections.abc import Iterable


class NotificationError(Exception):
    """Base class of the notifications service's errors."""


class UnknownTemplate(NotificationError):
    """No message template has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown message template {name!r}")
        self.name = name


class MissingVariables(NotificationError):
    """Variables the template requires are absent or empty; ``names`` lists every one."""

    def __init__(self, template: str, names: Iterable[str]) -> None:
        self.template = template
        self.names = tuple(names)
        super().__init__(f"template {template!r} is missing variables: {', '.join(self.names)}")


class MessageTooLong(NotificationError):
    """The rendered text exceeds what the channel accepts (or what we accept to pay for)."""

    def __init__(self, template: str, channel: str, length: int, limit: int, unit: str = "characters") -> None:
        self.template = template
        self.channel = channel
        self.length = length
        self.limit = limit
        super().__init__(f"template {template!r} on {channel} is {length} {unit} long; the limit is {limit}")


class InvalidAddress(NotificationError):
    """An address (email, phone) cannot be sent to; ``reason`` says why."""

    kind = "address"

    def __init__(self, raw: str, reason: str) -> None:
        self.raw = raw
        self.reason = reason
        super().__init__(f"invalid {self.kind} {raw!r}: {reason}")


class InvalidPhone(InvalidAddress):
    """A phone number cannot be normalised to E.164; ``reason`` says why."""

    kind = "phone number"
