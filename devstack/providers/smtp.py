"""A local SMTP server (aiosmtpd) that keeps what it receives, on 127.0.0.1.

It speaks real SMTP, so the email channel is tested end to end. Optional
``username``/``password`` make it require AUTH LOGIN/PLAIN (without TLS: it only
listens on loopback). ``refuse`` lists recipients answered ``550``;
``fail_next`` answers the next messages' DATA with a scripted reply, e.g.
``"451 4.3.0 Try again later"``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, Self, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage  # parsed with the modern email policy: message.get_content() is text
    peer: str  # the client's address and port: messages of one connection share it


class _LoopbackController(Controller):
    """aiosmtpd's controller, able to bind port 0: it learns the port the OS chose."""

    def _trigger_server(self) -> None:
        server = cast(asyncio.Server | None, self.server)
        if self.port == 0 and server is not None and server.sockets:
            self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpStandIn:
    """An SMTP server on loopback that records each message it accepts in ``messages``."""

    def __init__(
        self,
        *,
        port: int = 0,
        username: str = "",
        password: str = "",
        refuse: Iterable[str] = (),
    ) -> None:
        self.username = username
        self.password = password
        self.refuse = {address.lower() for address in refuse}
        self.messages: list[ReceivedMail] = []
        self._lock = threading.Lock()
        self._faults: deque[str] = deque()
        self._controller = _LoopbackController(
            _Handler(self),
            hostname="127.0.0.1",
            port=port,
            authenticator=self._authenticate if username else None,
            auth_require_tls=False,
        )
        self._running = False

    def start(self) -> Self:
        self._controller.start()
        self._running = True
        return self

    def stop(self) -> None:
        if self._running:
            self._running = False
            self._controller.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def fail_next(self, n: int = 1, reply: str = "451 4.3.0 Try again later") -> None:
        """Answer the DATA of the next ``n`` messages with ``reply`` instead of accepting them."""
        with self._lock:
            self._faults.extend([reply] * n)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode("utf-8", "replace") == self.username
            and auth_data.password.decode("utf-8", "replace") == self.password
        )
        # handled=False: aiosmtpd itself answers a failure with 535
        return AuthResult(success=ok, handled=False)

    def _fault(self) -> str | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _record(self, session: Session, envelope: Envelope) -> None:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode("utf-8")
        message = cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(raw))
        mail = ReceivedMail(str(envelope.mail_from), tuple(envelope.rcpt_tos), message, str(session.peer))
        with self._lock:
            self.messages.append(mail)
        log.info("smtp: accepted %s to %s: %s", message["Message-ID"], ", ".join(mail.rcpt_tos), message["Subject"])


class _Handler:
    def __init__(self, stand_in: SmtpStandIn) -> None:
        self.stand_in = stand_in

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if self.stand_in.username and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.stand_in.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        fault = self.stand_in._fault()
        if fault is not None:
            return fault
        self.stand_in._record(session, envelope)
        return "250 2.0.0 Ok: queued"
