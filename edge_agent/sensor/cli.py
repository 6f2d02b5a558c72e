"""``crm-fingerprint-sensor``: run a simulated fingerprint reader until Ctrl-C or SIGTERM.

Prints the pty path alone on the first line (so a script can read it), then a
short help line in Spanish. Fingers are put on the glass through the control
socket (``--control PATH``, see ``edge_agent.sensor.control``) or, when stdin
is a terminal, by typing ``press ana:indice_derecho [good|poor|messy]``,
``lift``, ``state`` or ``quit``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence

from edge_agent.sensor.control import ControlServer, handle_request
from edge_agent.sensor.emulator import SensorConfig
from edge_agent.sensor.pty_transport import PtySensor

HELP = (
    "Sensor de huellas simulado listo. Órdenes: press NOMBRE [good|poor|messy], lift, state, quit. Ctrl-C para detener."
)


def _int(text: str) -> int:
    """Decimal or 0x-prefixed hexadecimal."""
    return int(text, 0)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="crm-fingerprint-sensor",
        description="Lector de huellas simulado (protocolo ZFM-20/R30x) en un pseudo-terminal.",
    )
    parser.add_argument("--password", type=_int, default=0, help="contraseña del sensor (0 = sin contraseña)")
    parser.add_argument("--address", type=_int, default=0xFFFFFFFF, help="dirección del sensor")
    parser.add_argument("--capacity", type=int, default=1000, help="plantillas que caben (p. ej. 1000 o 162)")
    parser.add_argument("--security-level", type=int, default=3, choices=range(1, 6), help="nivel de seguridad")
    parser.add_argument("--throttle", action="store_true", help="respetar el tiempo real de la velocidad en baudios")
    parser.add_argument("--symlink", help="crear un enlace estable al pty, p. ej. /tmp/crm-sensor")
    parser.add_argument("--control", help="socket UNIX de control (JSON por líneas)")
    parser.add_argument("--seed", type=int, default=0, help="semilla del ruido de cada captura")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = SensorConfig(
            address=args.address,
            password=args.password,
            capacity=args.capacity,
            security_level=args.security_level,
            seed=args.seed,
        )
    except ValueError as exc:
        print(f"ERROR: configuración no válida: {exc}", file=sys.stderr)
        return 2
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())

    sensor = PtySensor(config, throttle=args.throttle, symlink=args.symlink)
    try:
        sensor.start()
    except OSError as exc:
        print(f"ERROR: no se pudo crear el pty o el enlace: {exc}", file=sys.stderr)
        return 1
    control = None
    try:
        if args.control:
            control = ControlServer(sensor, args.control).start()
        print(sensor.port, flush=True)
        where = f" Enlace: {args.symlink}." if args.symlink else ""
        where += f" Control: {args.control}." if args.control else ""
        print(HELP + where, flush=True)
        if sys.stdin.isatty():
            threading.Thread(target=_read_console, args=(sensor, stopping), daemon=True).start()
        stopping.wait()
        return 0
    except OSError as exc:
        print(f"ERROR: no se pudo abrir el socket de control: {exc}", file=sys.stderr)
        return 1
    finally:
        if control is not None:
            control.stop()
        sensor.stop()


def _read_console(sensor: PtySensor, stopping: threading.Event) -> None:
    """Typed commands, translated into control requests."""
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] in {"quit", "exit", "salir"}:
            break
        request: dict[str, object] = {words[0]: words[1] if len(words) > 1 else True}
        if words[0] == "press" and len(words) > 2:
            request["quality"] = words[2]
        answer = handle_request(sensor, json.dumps(request))
        if answer["ok"]:
            print(json.dumps(answer["state"], ensure_ascii=False), flush=True)
        else:
            print(f"ERROR: {answer['error']}", flush=True)
    stopping.set()


if __name__ == "__main__":
    sys.exit(main())
