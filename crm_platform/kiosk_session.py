"""The statement a kiosk signs with its Ed25519 key to open a session, written
once for both ends: the kiosk signs these bytes, the gateway rebuilds and verifies
them (``POST /kiosk/session``)."""

from __future__ import annotations


def session_message(device_id: str, issued_at: str) -> bytes:
    return f"crm-kiosk-session\n{device_id}\n{issued_at}".encode()
