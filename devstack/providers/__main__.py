"""Run the WhatsApp, SMS and SMTP stand-ins on loopback until interrupted.

Prints the settings the notifications service needs, one ``NAME=value`` line
each (WhatsApp's webhook secrets included), then ``ready``; logs every message
the stand-ins accept. Ports default to 0 (the OS picks); devstack reads the
printed lines. With ``--whatsapp-webhook-url`` the WhatsApp stand-in reports
each message's status there as Meta does, retrying one our side does not accept
for ``--whatsapp-webhook-retry-seconds`` (120; Meta retries for days); the SMS stand-in calls back whatever
``StatusCallback`` a send carries.

    python -m devstack.providers [--whatsapp-port N] [--sms-port N] [--smtp-port N]
        [--whatsapp-webhook-url URL] [--undeliverable-later E164 ...] [--sms-undelivered E164 ...]
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from devstack.providers import sms, whatsapp
from devstack.providers.sms import SmsStandIn
from devstack.providers.smtp import SmtpStandIn
from devstack.providers.whatsapp import WhatsAppStandIn


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.providers", description=__doc__.split("\n")[0])
    parser.add_argument("--whatsapp-port", type=int, default=0)
    parser.add_argument("--sms-port", type=int, default=0)
    parser.add_argument("--smtp-port", type=int, default=0)
    parser.add_argument("--phone-number-id", default=whatsapp.DEV_PHONE_NUMBER_ID)
    parser.add_argument("--whatsapp-token", default=whatsapp.DEV_ACCESS_TOKEN)
    parser.add_argument("--whatsapp-webhook-url", default=None, help="where to POST WhatsApp status notifications")
    parser.add_argument(
        "--whatsapp-webhook-retry-seconds", type=float, default=120.0,
        help="how long a status notification our side does not accept is retried (Meta: days)",
    )  # fmt: skip
    parser.add_argument("--whatsapp-app-secret", default=whatsapp.DEV_APP_SECRET)
    parser.add_argument("--whatsapp-verify-token", default=whatsapp.DEV_VERIFY_TOKEN)
    parser.add_argument("--account-sid", default=sms.DEV_ACCOUNT_SID)
    parser.add_argument("--sms-token", default=sms.DEV_AUTH_TOKEN)
    parser.add_argument("--sms-sender", default=sms.DEV_SENDER)
    parser.add_argument(
        "--undeliverable", action="append", default=[], metavar="E164",
        help="a number WhatsApp cannot deliver to and the SMS provider calls invalid (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--undeliverable-later", action="append", default=[], metavar="E164",
        help="a number WhatsApp accepts and later reports failed with 131026 (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--sms-undelivered", action="append", default=[], metavar="E164",
        help="a number the SMS provider accepts and later reports undelivered with 30003 (repeatable)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    wa = WhatsAppStandIn(
        phone_number_id=args.phone_number_id,
        access_token=args.whatsapp_token,
        undeliverable=args.undeliverable,
        undeliverable_later=args.undeliverable_later,
        webhook_url=args.whatsapp_webhook_url or None,
        app_secret=args.whatsapp_app_secret,
        verify_token=args.whatsapp_verify_token,
        port=args.whatsapp_port,
    )
    wa.webhook_retry_for = args.whatsapp_webhook_retry_seconds
    text = SmsStandIn(
        account_sid=args.account_sid,
        auth_token=args.sms_token,
        sender=args.sms_sender,
        invalid_numbers=args.undeliverable,
        undelivered=args.sms_undelivered,
        port=args.sms_port,
    )
    mail = SmtpStandIn(port=args.smtp_port)
    with wa, text, mail:
        settings = {
            "WHATSAPP_BASE_URL": wa.url,
            "WHATSAPP_API_VERSION": wa.api_version,
            "WHATSAPP_PHONE_NUMBER_ID": wa.phone_number_id,
            "WHATSAPP_ACCESS_TOKEN": wa.access_token,
            "WHATSAPP_APP_SECRET": wa.app_secret,
            "WHATSAPP_VERIFY_TOKEN": wa.verify_token,
            "SMS_BASE_URL": text.url,
            "SMS_ACCOUNT_SID": text.account_sid,
            "SMS_AUTH_TOKEN": text.auth_token,
            "SMS_SENDER": text.sender,
            "SMTP_HOST": mail.host,
            "SMTP_PORT": str(mail.port),
        }
        for name, value in settings.items():
            print(f"{name}={value}")
        print("ready", flush=True)
        while not stop.wait(0.5):  # a timed wait lets the signal handler run promptly
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
