"""The one interface every channel adapter implements, and the registry that holds them.

A channel takes one rendered ``Outgoing`` and either returns the provider's
``Receipt`` or raises ``TransientFailure`` (try again later) or
``PermanentFailure`` (this channel cannot deliver it; another may). Adding a
channel is one new adapter module and one builder in ``channels.config``;
nothing else names channels.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol, runtime_checkable

from services.notifications.domain.model import ChannelName, Outgoing, Receipt
from services.notifications.service_layer.ports import ReportingChannel

__all__ = ["Channel", "ChannelRegistry", "ReportingChannel", "UnknownChannel"]

log = logging.getLogger(__name__)


@runtime_checkable
class Channel(Protocol):
    """Sends one message on one channel."""

    name: ChannelName

    def send(self, message: Outgoing) -> Receipt:
        """Hand ``message`` to the provider; raises ``TransientFailure`` or ``PermanentFailure``."""
        ...


class UnknownChannel(KeyError):
    """No channel with this name is configured."""


class ChannelRegistry(Mapping[ChannelName, Channel]):
    """The configured channels by name: ``registry[ChannelName.SMS].send(message)``.

    A read-only mapping once built, except for ``register``; ``close`` releases
    the connections adapters keep open.
    """

    def __init__(self, channels: Iterable[Channel] = ()) -> None:
        self._channels: dict[ChannelName, Channel] = {}
        for channel in channels:
            self.register(channel)

    def register(self, channel: Channel) -> None:
        name = ChannelName(channel.name)
        if name in self._channels:
            raise ValueError(f"a {name} channel is already registered")
        self._channels[name] = channel

    def __getitem__(self, name: ChannelName) -> Channel:
        try:
            return self._channels[ChannelName(name)]
        except (KeyError, ValueError):
            raise UnknownChannel(name) from None

    def __iter__(self) -> Iterator[ChannelName]:
        return iter(self._channels)

    def __len__(self) -> int:
        return len(self._channels)

    def __repr__(self) -> str:
        return f"ChannelRegistry({', '.join(self._channels)})"

    def close(self) -> None:
        """Close every adapter that holds a connection; one failing does not stop the others."""
        for channel in self._channels.values():
            closer = getattr(channel, "close", None)
            if closer is None:
                continue
            try:
                closer()
            except Exception:  # closing is best effort: the process is going away
                log.warning("closing the %s channel failed", channel.name, exc_info=True)
