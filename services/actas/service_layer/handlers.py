"""Use cases of the actas service, composed into one facade.

Desk flow (``desk``): ``create`` a draft, ``sign`` (participants, then the gestor),
``seal``. Kiosk flow (``kiosk``): ``ingest`` a device-signed submission, which
arrives signed by everyone and is sealed on arrival. Sealing stores the acta, its
chain entry and its events in one transaction; the relay publishes the events
afterwards. The kiosk registry and rejected submissions are in ``devices``, reads
and tamper evidence in ``queries``; what they share in ``base``.
"""

from __future__ import annotations

from services.actas.service_layer.base import (
    ACTAS,
    GROUPINGS,
    MAX_LIST,
    REJECTIONS,
    IngestResult,
    KioskMessage,
    MalformedSubmission,
    SignatureInput,
    SubmissionContent,
    SystemClock,
    VerifyReport,
)
from services.actas.service_layer.desk import DeskFlow
from services.actas.service_layer.devices import DeviceRegistry
from services.actas.service_layer.kiosk import KioskFlow
from services.actas.service_layer.queries import ActaQueries, verify_chain

__all__ = [
    "ACTAS",
    "GROUPINGS",
    "MAX_LIST",
    "REJECTIONS",
    "ActaHandlers",
    "IngestResult",
    "KioskMessage",
    "MalformedSubmission",
    "SignatureInput",
    "SubmissionContent",
    "SystemClock",
    "VerifyReport",
    "verify_chain",
]


class ActaHandlers(DeskFlow, KioskFlow, DeviceRegistry, ActaQueries):
    """Every use case of the service over one set of adapters (see ``base.HandlersBase``)."""
