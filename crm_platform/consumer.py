"""Consuming a RabbitMQ queue outside nameko: one base for every such consumer.

``QueueConsumer`` is a kombu ``ConsumerMixin`` running in an ordinary thread (the
main thread of a process that also serves gRPC, which must not share a process
with eventlet, or that does CPU-bound work such as signing PDFs). Its subclasses
say how a message is processed (``process``) and where a refused one goes
(``refuse``); the base decides what happens to the message, the same way for all:

- processed: acknowledged, only after ``process`` returned, i.e. after its effect
  is durable;
- refused (``Refused``: the message itself is unusable, e.g. it breaks its
  contract or its signature is wrong): handed to ``refuse`` (a dead-letter queue
  with the reason), then acknowledged;
- a dependency is down (MongoDB, another service: ``PyMongoError`` or
  ``crm_platform.errors.Unavailable``): put back on the queue after a pause;
- anything else: put back once; when it fails again on redelivery, refused with
  the error as the reason, so one poisonous message cannot stall the queue.

The trace context in the message headers (``nameko.traceparent`` from
``EventPublisher``, or plain ``traceparent``) continues in the consumer's span.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from kombu import Connection, Queue
from kombu.message import Message
from kombu.mixins import ConsumerMixin
from opentelemetry import trace
from pymongo.errors import PyMongoError

from crm_platform import errors
from crm_platform.messaging import HEADER_PREFIX
from crm_platform.telemetry import extract_context

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

# What processing may return: attributes for the consumer's span.
SpanAttributes = Mapping[str, str | int | bool] | None

TRANSIENT: tuple[type[BaseException], ...] = (PyMongoError, errors.Unavailable)


class Refused(Exception):
    """The message cannot be processed, now or ever; ``reason`` says why."""

    def __init__(self, reason: str, cause: Exception | None = None, **context: str) -> None:
        super().__init__(reason)
        self.reason, self.cause, self.context = reason, cause, context


class QueueConsumer(ConsumerMixin):
    span_name = "consume"
    accept: tuple[str, ...] = ("json",)
    retry_pause_seconds = 1.0

    def __init__(self, connection: Connection, queue: Queue, prefetch: int) -> None:
        self.connection = connection
        self.queue = queue
        self.prefetch = prefetch

    # -- what a subclass says ----------------------------------------------------------
    def process(self, body: Any, message: Message) -> SpanAttributes:
        raise NotImplementedError

    def refuse(self, message: Message, refused: Refused) -> None:
        raise NotImplementedError

    def declare(self, channel: Any) -> None:
        """Declare what ``refuse`` publishes to (before consuming starts)."""

    # -- the same for every consumer ---------------------------------------------------
    def get_consumers(self, consumer_cls: Any, channel: Any) -> list[Any]:
        self.declare(channel)
        consumer = consumer_cls(
            queues=[self.queue],
            callbacks=[self.on_message],
            accept=list(self.accept),
            on_decode_error=self.on_decode_error,
        )
        consumer.qos(prefetch_count=self.prefetch)
        return [consumer]

    def on_decode_error(self, message: Message, exc: Exception) -> None:
        # The raw bytes are still handled: ``process`` names what is wrong with them.
        self.on_message(None, message)

    def on_message(self, body: Any, message: Message) -> None:
        prefix = f"{HEADER_PREFIX}."
        headers = {k.removeprefix(prefix): v for k, v in (message.headers or {}).items()}
        with tracer.start_as_current_span(
            self.span_name, context=extract_context(headers), kind=trace.SpanKind.CONSUMER
        ) as span:
            try:
                attributes = self.process(body, message)
            except Refused as refused:
                span.set_attribute("crm.refused", refused.reason[:200])
                log.warning("%s: message refused: %s", self.queue.name, refused.reason)
                self.refuse(message, refused)
                message.ack()
                return
            except TRANSIENT as exc:
                log.warning("%s: a dependency is unavailable, message requeued: %s", self.queue.name, exc)
                time.sleep(self.retry_pause_seconds)
                message.requeue()
                return
            except Exception as exc:
                if message.delivery_info.get("redelivered"):
                    log.exception("%s: message failed twice; refused", self.queue.name)
                    self.refuse(message, Refused(f"error al procesar: {exc}", exc))
                    message.ack()
                else:
                    log.exception("%s: message failed; requeued once", self.queue.name)
                    message.requeue()
                return
            for name, value in (attributes or {}).items():
                span.set_attribute(name, value)
            message.ack()


class ConsumerGroup(ConsumerMixin):
    """Several consumers on one connection, run by one thread: each keeps its own
    queue, prefetch, processing and refusals (its ``on_message``); the group only
    gathers their kombu consumers. A process that consumes several queues (events
    of more than one type) runs one group."""

    def __init__(self, connection: Connection, members: Sequence[QueueConsumer]) -> None:
        if not members:
            raise ValueError("a consumer group needs at least one consumer")
        self.connection = connection
        self.members = list(members)

    @property
    def queue_names(self) -> list[str]:
        return [str(member.queue.name) for member in self.members]

    def get_consumers(self, consumer_cls: Any, channel: Any) -> list[Any]:
        return [consumer for member in self.members for consumer in member.get_consumers(consumer_cls, channel)]
