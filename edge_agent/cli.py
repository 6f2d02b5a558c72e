"""``crm-kiosk``: the field kiosk's command line (output in Spanish, for the gestor).

    crm-kiosk status [--json]            qué hay en la bandeja de salida
    crm-kiosk run-forwarder              reenviar al bus hasta Ctrl-C / SIGTERM
    crm-kiosk drain [--timeout S]        reenviar hasta vaciar la bandeja
    crm-kiosk retry-failed               volver a poner en cola los envíos fallidos

Each subcommand is a ``_add_<name>(subparsers)`` that registers its parser and
handler; new ones (pairing, sync, enrolment...) are added the same way.

Settings (flags override the environment): ``--db`` or ``CRM_KIOSK_OUTBOX``
(default ``$CRM_KIOSK_HOME/outbox.sqlite3``, ``CRM_KIOSK_HOME`` default
``var/kiosk``); ``--amqp`` or ``AMQP_URI``; ``CRM_KIOSK_KEEP_SENT_DAYS`` and
``CRM_KIOSK_KEEP_SENT_MAX`` (retention of sent submissions, see edge_agent.outbox).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from crm_platform.config import int_setting, setting
from edge_agent.outbox import Outbox, RetentionPolicy, Status

DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/"


def kiosk_home() -> Path:
    return Path(setting("CRM_KIOSK_HOME", "var/kiosk"))


def default_outbox_path() -> Path:
    return Path(setting("CRM_KIOSK_OUTBOX", str(kiosk_home() / "outbox.sqlite3")))


# -- status ----------------------------------------------------------------------------
def _add_status(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("status", parents=[common], help="estado de la bandeja de salida")
    parser.add_argument("--json", action="store_true", help="salida en JSON (para scripts)")
    parser.set_defaults(handler=_status)


def _status(args: argparse.Namespace) -> int:
    with Outbox(args.db) as outbox:
        status = outbox.status()
    if args.json:
        print(json.dumps(asdict(status)))
    else:
        print(render_status(status, args.db))
    return 0


def render_status(status: Status, path: Path) -> str:
    lines = [
        f"Bandeja de salida del quiosco ({path})",
        f"  En cola:                {status.queued:>8}",
        f"  En vuelo:               {status.in_flight:>8}",
        f"  Enviados:               {status.sent_total:>8}  (en el historial local: {status.sent})",
        f"  Fallidos:               {status.failed:>8}",
        f"  Último envío:           {_when(status.last_sent_at)}",
        f"  Última sincronización:  {_when(status.last_sync_at)}",
    ]
    if status.queued and status.next_attempt_at is not None:
        lines.append(f"  Próximo intento:        {_when(status.next_attempt_at)}")
    if status.last_error and (status.queued or status.failed):
        lines.append(f"  Último error:           {status.last_error}")
    if status.failed:
        lines.append("  Hay envíos fallidos: revise el error y use `crm-kiosk retry-failed` para reintentarlos.")
    return "\n".join(lines)


def _when(moment: float | None) -> str:
    if moment is None:
        return "nunca"
    return datetime.fromtimestamp(moment).strftime("%Y-%m-%d %H:%M:%S")


# -- forwarding ------------------------------------------------------------------------
def _add_forwarding(sub: Any, common: argparse.ArgumentParser) -> None:
    bus = argparse.ArgumentParser(add_help=False)
    bus.add_argument("--amqp", default=setting("AMQP_URI", DEFAULT_AMQP), help="URI del bus (AMQP_URI)")
    bus.add_argument("--batch-size", type=int, default=100, help="envíos por lote (por defecto 100)")
    bus.add_argument("--max-rate", type=float, help="máximo de envíos por segundo (enlaces lentos o medidos)")
    bus.add_argument("--connect-timeout", type=float, default=5.0, help="segundos para conectar (por defecto 5)")
    bus.add_argument("--io-timeout", type=float, default=15.0, help="segundos de espera de red (por defecto 15)")
    bus.add_argument("--quiet", action="store_true", help="solo errores")

    run = sub.add_parser("run-forwarder", parents=[common, bus], help="reenviar al bus hasta Ctrl-C / SIGTERM")
    run.set_defaults(handler=_run_forwarder)
    drain = sub.add_parser("drain", parents=[common, bus], help="reenviar hasta vaciar la bandeja")
    drain.add_argument("--timeout", type=float, help="rendirse tras estos segundos")
    drain.set_defaults(handler=_drain)


def _run_forwarder(args: argparse.Namespace) -> int:
    return _forward(args, until_empty=False)


def _drain(args: argparse.Namespace) -> int:
    return _forward(args, until_empty=True)


def _forward(args: argparse.Namespace, *, until_empty: bool) -> int:
    from crm_platform.telemetry import setup_tracing, shutdown_tracing
    from edge_agent.forwarder import Forwarder, ForwarderSettings
    from edge_agent.publisher import KombuPublisher

    db = Path(args.db)
    os.environ.setdefault("OTEL_TRACES_DIR", str(db.parent / "traces"))
    setup_tracing("crm-kiosk", instrument_pymongo=False)
    out = SpanishObserver(quiet=args.quiet)
    settings = ForwarderSettings(
        batch_size=args.batch_size,
        max_rate=args.max_rate,
        retention=RetentionPolicy(
            keep_sent_days=int_setting("CRM_KIOSK_KEEP_SENT_DAYS", 30),
            keep_sent_max=int_setting("CRM_KIOSK_KEEP_SENT_MAX", 5000),
        ),
    )
    try:
        with single_forwarder(db), Outbox(db) as outbox:
            publisher = KombuPublisher(args.amqp, connect_timeout=args.connect_timeout, io_timeout=args.io_timeout)
            forwarder = Forwarder(outbox, publisher, settings, observer=out)
            with _stop_on_signals(forwarder.stop):
                pending = outbox.pending()
                out.say(f"Bandeja {db}: {pending} envíos por enviar.")
                deadline = None if getattr(args, "timeout", None) is None else time.monotonic() + args.timeout
                report = forwarder.run(until_empty=until_empty, deadline=deadline)
                failed = outbox.status().failed
    except ForwarderBusy as busy:
        print(f"ERROR: {busy}", file=sys.stderr)
        return 2
    finally:
        shutdown_tracing()
    out.say(f"Enviados {report.sent} en {report.elapsed:.1f} s; quedan {report.pending} por enviar.", always=True)
    if failed:
        out.say(f"Hay {failed} envíos fallidos: revise `crm-kiosk status` y use `crm-kiosk retry-failed`.", always=True)
    if until_empty and report.pending:
        print(f"No se vació la bandeja: quedan {report.pending} envíos.", file=sys.stderr)
        return 1
    return 0


class SpanishObserver:
    """Prints the forwarder's progress for the gestor, at most once a second for
    routine progress."""

    def __init__(self, *, quiet: bool = False, stream: IO[str] | None = None) -> None:
        self.quiet = quiet
        self.stream = stream or sys.stdout
        self._last_progress = 0.0

    def say(self, text: str, *, always: bool = False) -> None:
        if always or not self.quiet:
            print(text, file=self.stream, flush=True)

    def bus_reachable(self) -> None:
        self.say("Conectado al bus.")

    def bus_unreachable(self, error: str, retry_in: float) -> None:
        when = "ahora" if retry_in < 0.05 else f"en {retry_in:.1f} s"
        self.say(f"Sin conexión con el bus ({error}). Nuevo intento {when}.", always=True)

    def batch_sent(self, sent: int, pending: int) -> None:
        now = time.monotonic()
        if pending == 0 or now - self._last_progress >= 1.0:
            self._last_progress = now
            self.say(f"Enviados {sent} más; quedan {pending}.")

    def refused(self, submission_id: str, error: str, gave_up: bool) -> None:
        then = "marcado como fallido" if gave_up else "se reintentará más tarde"
        self.say(f"El bus rechazó el envío {submission_id} ({error}); {then}.", always=True)


class ForwarderBusy(RuntimeError):
    """Another forwarder already drains this outbox."""


@contextlib.contextmanager
def single_forwarder(db: Path) -> Iterator[None]:
    """An exclusive lock next to the outbox: two forwarders on one file would only
    send everything twice. The kernel drops the lock if the process dies."""
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            raise ForwarderBusy(f"ya hay un reenvío en marcha para {db} (proceso {fh.read().strip() or '?'})") from None
        fh.truncate(0)
        fh.write(str(os.getpid()))
        fh.flush()
        yield


@contextlib.contextmanager
def _stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    previous = {sig: signal.signal(sig, lambda *_: stop()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# -- failed submissions ------------------------------------------------------------------
def _add_retry_failed(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("retry-failed", parents=[common], help="volver a poner en cola los envíos fallidos")
    parser.set_defaults(handler=_retry_failed)


def _retry_failed(args: argparse.Namespace) -> int:
    with Outbox(args.db) as outbox:
        count = outbox.retry_failed()
    print(f"{count} envíos fallidos vuelven a la cola." if count else "No hay envíos fallidos.")
    return 0


# -- entry point -----------------------------------------------------------------------------
def _add_field_flows(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """pair, sync, enrol, acta: the gestor's flows (edge_agent/kiosk_cli.py)."""
    from edge_agent import kiosk_cli

    kiosk_cli.register(sub, common)


SUBCOMMANDS = (_add_status, _add_forwarding, _add_retry_failed, _add_field_flows)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db", type=Path, default=default_outbox_path(), help="archivo de la bandeja de salida (CRM_KIOSK_OUTBOX)"
    )
    parser = argparse.ArgumentParser(prog="crm-kiosk", description="Quiosco de campo de CRM Social.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="ORDEN")
    for add in SUBCOMMANDS:
        add(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"), format="%(asctime)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
