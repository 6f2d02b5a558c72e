"""Local stand-ins for the notification providers: WhatsApp Cloud API, Twilio SMS, SMTP.

Each is a real server on 127.0.0.1 that checks requests against the provider's
documented contract and answers as the provider does, errors included. Tests
start them directly; ``python -m devstack.providers`` runs all three for ``make run``.
"""

from devstack.providers.server import Violation
from devstack.providers.sms import AcceptedSms, SmsStandIn
from devstack.providers.smtp import ReceivedMail, SmtpStandIn
from devstack.providers.whatsapp import AcceptedWhatsApp, WhatsAppStandIn

__all__ = [
    "AcceptedSms",
    "AcceptedWhatsApp",
    "ReceivedMail",
    "SmsStandIn",
    "SmtpStandIn",
    "Violation",
    "WhatsAppStandIn",
]
