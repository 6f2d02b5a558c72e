"""Email over SMTP: one plain-text UTF-8 message per ``Outgoing``.

The connection is kept open between sends (a batch of thousands pays for one
handshake, not one each) and checked with ``NOOP`` after it sat idle. Any error
closes it; the next send opens a fresh one. The adapter itself never resends: a
failure is reported and the service decides.

Replies are classified as SMTP defines them: 4xx transient, 5xx permanent; a
refused connection, a dropped one or a timeout is transient.

The Message-ID is derived from the message key, so a retried email carries the
same id and mail clients that deduplicate by it show it once.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from services.notifications.domain.model import ChannelName, Outgoing, PermanentFailure, Receipt, TransientFailure

log = logging.getLogger(__name__)

PROVIDER = "smtp"
_IDLE_CHECK_SECONDS = 5.0


@dataclass(frozen=True, kw_only=True)
class SmtpSettings:
    host: str
    port: int = 25
    username: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = False  # upgrade a plain connection (port 587)
    ssl: bool = False  # TLS from the first byte (port 465)
    sender: str  # "CRM Social <notificaciones@example.org>"
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.starttls and self.ssl:
            raise ValueError("SMTP: choose STARTTLS or implicit TLS, not both")


class SmtpChannel:
    """Sends ``Outgoing`` emails through one SMTP server."""

    name = ChannelName.EMAIL

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._domain = parseaddr(settings.sender)[1].rpartition("@")[2] or "localhost"
        self._lock = threading.Lock()
        self._smtp: smtplib.SMTP | None = None
        self._last_used = 0.0

    def send(self, message: Outgoing) -> Receipt:
        if message.channel is not self.name:
            raise PermanentFailure(f"smtp: the message was rendered for {message.channel}, not for email")
        email = self.compose(message)
        with self._lock:
            try:
                smtp = self._connection()
                smtp.send_message(email)
            except smtplib.SMTPRecipientsRefused as exc:
                self._discard()
                code, text = next(iter(exc.recipients.values()))
                raise _failure(f"recipient {message.to} refused", code, text) from exc
            except smtplib.SMTPAuthenticationError as exc:
                self._discard()
                log.error("The SMTP server refused our credentials (SMTP_USERNAME/SMTP_PASSWORD): %s", exc)
                raise _failure("authentication refused", exc.smtp_code, exc.smtp_error) from exc
            except smtplib.SMTPResponseException as exc:
                self._discard()
                raise _failure("refused", exc.smtp_code, exc.smtp_error) from exc
            except smtplib.SMTPNotSupportedError as exc:
                self._discard()
                log.error("The SMTP server lacks an extension our settings need: %s", exc)
                raise PermanentFailure(f"smtp: server does not support what the settings require: {exc}") from exc
            except (smtplib.SMTPException, OSError) as exc:
                self._discard()
                raise TransientFailure(f"smtp: {type(exc).__name__}: {exc}") from exc
            self._last_used = time.monotonic()
        return Receipt(provider=PROVIDER, provider_message_id=str(email["Message-ID"]))

    def compose(self, message: Outgoing) -> EmailMessage:
        """The email for ``message``; ``PermanentFailure`` if its address cannot be a header."""
        email = EmailMessage()
        try:
            email["From"] = self.settings.sender
            email["To"] = Address(addr_spec=message.to)
            email["Subject"] = message.subject
        except (ValueError, IndexError) as exc:  # header injection, unparsable address
            raise PermanentFailure(f"smtp: cannot address an email to {message.to!r}: {exc}") from exc
        email["Date"] = formatdate(localtime=False, usegmt=True)
        email["Message-ID"] = self.message_id(message.message_key)
        email["Content-Language"] = message.language
        email.set_content(message.text, charset="utf-8")
        return email

    def message_id(self, message_key: str) -> str:
        digest = hashlib.sha256(message_key.encode("utf-8")).hexdigest()[:32]
        return f"<{digest}@{self._domain}>"

    def close(self) -> None:
        with self._lock:
            self._discard()

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None and time.monotonic() - self._last_used > _IDLE_CHECK_SECONDS:
            try:
                alive = self._smtp.noop()[0] == 250
            except (smtplib.SMTPException, OSError):
                alive = False
            if not alive:
                self._discard()
        if self._smtp is None:
            self._smtp = self._connect()
        return self._smtp

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp: smtplib.SMTP
        if s.ssl:
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.username:
                smtp.login(s.username, s.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _discard(self) -> None:
        if self._smtp is None:
            return
        smtp, self._smtp = self._smtp, None
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def _failure(what: str, code: int, text: bytes | str) -> TransientFailure | PermanentFailure:
    detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    reason = f"smtp: {what}: {code} {detail}"
    if 500 <= code < 600:
        return PermanentFailure(reason)
    return TransientFailure(reason)
