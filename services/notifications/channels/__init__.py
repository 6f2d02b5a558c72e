"""Channel adapters of the notifications service: email (SMTP), WhatsApp (Cloud API), SMS (HTTP).

Each adapter implements ``Channel``; ``channels_from_env`` builds the registry of
those configured.
"""

from services.notifications.channels.base import Channel, ChannelRegistry, UnknownChannel

__all__ = ["Channel", "ChannelRegistry", "UnknownChannel"]
