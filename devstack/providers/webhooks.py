"""Webhooks a provider stand-in sends back to our side, as its provider does with
delivery-status callbacks.

``WebhookPoster`` queues signed requests and sends them from one background thread,
in order, retrying with a backoff when our side answers other than 2xx or cannot be
reached: a few times by default, or for as long as ``retry_for`` says (Meta retries
a WhatsApp status notification with growing delays for days, so a report sent while
our side was down arrives once it is back). Every webhook and each answer to it is recorded
(``SentWebhook``); nothing our side does can block or crash the stand-in.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SentWebhook:
    """A webhook a stand-in sent, and our side's answer to each try (an HTTP
    status, or the name of the transport error)."""

    url: str
    headers: Mapping[str, str]
    body: bytes
    answers: tuple[int | str, ...]

    @property
    def accepted(self) -> bool:
        return bool(self.answers) and isinstance(self.answers[-1], int) and 200 <= self.answers[-1] < 300


@dataclass(frozen=True)
class _Webhook:
    url: str
    headers: Mapping[str, str]
    body: bytes
    delay: float


class WebhookPoster:
    """Sends queued webhooks from one thread, in order, each after its delay.

    A try is bounded by ``timeout``; tries are ``backoff`` seconds apart, doubling up
    to ``max_backoff``. A webhook is given up on once it has been tried ``tries``
    times and ``retry_for`` seconds have passed since its first try (the queue
    behind it waits meanwhile, as it would behind a slow provider). ``stop`` drops
    what is still queued.
    """

    def __init__(
        self,
        name: str,
        *,
        timeout: float = 2.0,
        tries: int = 4,
        backoff: float = 0.05,
        max_backoff: float = 1.0,
        retry_for: float = 0.0,
    ) -> None:
        self.name = name
        self.timeout = timeout
        self.tries = tries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.retry_for = retry_for
        self.sent: list[SentWebhook] = []
        self._queue: deque[_Webhook] = deque()
        self._busy = 0  # queued plus the one being sent
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        with self._changed:
            self._busy -= len(self._queue)
            self._queue.clear()
            self._changed.notify_all()
        thread.join(timeout=self.timeout + 1)

    def post(self, url: str, body: bytes, headers: Mapping[str, str], delay: float = 0.0) -> None:
        """Queue a POST of ``body`` to ``url``, sent ``delay`` seconds after the one before it."""
        with self._changed:
            self._queue.append(_Webhook(url, dict(headers), body, delay))
            self._busy += 1
            self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued webhook has been sent (or given up on); False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._busy == 0, timeout)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while not self._stopping.is_set():
                with self._changed:
                    self._changed.wait_for(lambda: self._queue or self._stopping.is_set(), 0.5)
                    if not self._queue:
                        continue
                    webhook = self._queue.popleft()
                try:
                    if not self._stopping.wait(webhook.delay):
                        self._deliver(client, webhook)
                except Exception:  # a stand-in bug must not end the thread that sends the rest
                    log.exception("%s: sending a webhook to %s failed", self.name, webhook.url)
                finally:
                    with self._changed:
                        self._busy = max(0, self._busy - 1)
                        self._changed.notify_all()

    def _deliver(self, client: httpx.Client, webhook: _Webhook) -> None:
        answers: list[int | str] = []
        pause = self.backoff
        give_up_at = time.monotonic() + self.retry_for
        while len(answers) < self.tries or time.monotonic() < give_up_at:
            if answers:
                if self._stopping.wait(pause):
                    break
                pause = min(pause * 2, self.max_backoff)
            try:
                answer: int | str = client.post(webhook.url, content=webhook.body, headers=webhook.headers).status_code
            except httpx.HTTPError as exc:
                answer = type(exc).__name__
            answers.append(answer)
            if isinstance(answer, int) and 200 <= answer < 300:
                break
        record = SentWebhook(webhook.url, webhook.headers, webhook.body, tuple(answers))
        with self._changed:
            self.sent.append(record)
        if not record.accepted:
            log.warning("%s: gave up on a webhook to %s after %s", self.name, webhook.url, list(answers))
