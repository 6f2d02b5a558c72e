"""Control channel: lets another process put fingers on a running simulated sensor.

A UNIX stream socket taking one JSON object per line and answering one per line::

    {"press": "ana:indice_derecho", "quality": "good"}   quality optional: good | poor | messy
    {"press": "ana:indice_derecho", "captures": 1}       lifts itself after one readImage
    {"lift": true}
    {"state": true}

Every answer is ``{"ok": true, "state": {...}}`` or ``{"ok": false, "error": "..."}``
(error text in Spanish: it ends up in front of a person running ``make demo``).
``SensorControl`` is the client.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import socketserver
import sys
import threading
from pathlib import Path
from typing import Any, Protocol

from edge_agent.sensor.fingers import Quality


class Controllable(Protocol):
    def press(self, finger: str, quality: Quality | str = ..., captures: int | None = ...) -> None: ...

    def lift(self) -> None: ...

    def state(self) -> dict[str, Any]: ...


class SensorControlError(Exception):
    """The sensor refused a control request."""


class InvalidRequest(ValueError):
    """A control request that cannot be carried out."""


def handle_request(sensor: Controllable, line: str) -> dict[str, Any]:
    """Carry out one JSON request line; the answer as a JSON-friendly dict."""
    try:
        request = json.loads(line)
        if not isinstance(request, dict):
            raise InvalidRequest("se espera un objeto JSON")
        _apply(sensor, request)
    except json.JSONDecodeError:
        return {"ok": False, "error": "JSON no válido"}
    except InvalidRequest as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "state": sensor.state()}


def _apply(sensor: Controllable, request: dict[str, Any]) -> None:
    if "press" in request:
        finger = request["press"]
        if not isinstance(finger, str) or not finger:
            raise InvalidRequest("press necesita el nombre del dedo, p. ej. ana:indice_derecho")
        quality = request.get("quality", Quality.GOOD.value)
        if quality not in {q.value for q in Quality}:
            raise InvalidRequest(f"calidad no válida: {quality!r}; use good, poor o messy")
        captures = request.get("captures")
        if captures is not None and (not isinstance(captures, int) or captures < 1):
            raise InvalidRequest("captures debe ser un entero positivo")
        sensor.press(finger, quality, captures)
    elif request.get("lift"):
        sensor.lift()
    elif not request.get("state"):
        raise InvalidRequest("orden desconocida: use press, lift o state")


class ControlServer:
    """Serves the control protocol for ``sensor`` on a UNIX socket at ``path``."""

    def __init__(self, sensor: Controllable, path: str | Path) -> None:
        self.path = Path(path)
        target = sensor

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                for raw in self.rfile:
                    if raw.strip():
                        answer = handle_request(target, raw.decode("utf-8", "replace"))
                        self.wfile.write(json.dumps(answer).encode() + b"\n")

        if self.path.is_socket():
            self.path.unlink()  # left over from a process that was killed
        self._server = socketserver.ThreadingUnixStreamServer(str(self.path), Handler)
        self._server.daemon_threads = True
        os.chmod(self.path, 0o600)
        self._thread: threading.Thread | None = None

    def start(self) -> ControlServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="sensor-control", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        self.path.unlink(missing_ok=True)


class SensorControl:
    """Client of a sensor's control socket: ``SensorControl(path).press("ana:indice_derecho")``."""

    def __init__(self, path: str | Path, timeout: float = 5.0) -> None:
        self.path = str(path)
        self.timeout = timeout

    def press(self, finger: str, quality: Quality | str = Quality.GOOD, captures: int | None = None) -> dict[str, Any]:
        request: dict[str, Any] = {"press": finger, "quality": Quality(quality).value}
        if captures is not None:
            request["captures"] = captures
        return self._call(request)

    def lift(self) -> dict[str, Any]:
        return self._call({"lift": True})

    def state(self) -> dict[str, Any]:
        return self._call({"state": True})

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(self.timeout)
            conn.connect(self.path)
            conn.sendall(json.dumps(request).encode() + b"\n")
            with conn.makefile("rb") as answers:
                answer: dict[str, Any] = json.loads(answers.readline())
        if not answer.get("ok"):
            raise SensorControlError(answer.get("error", "error desconocido"))
        state: dict[str, Any] = answer["state"]
        return state


def main(argv: list[str] | None = None) -> int:
    """``python -m edge_agent.sensor.control SOCKET press NAME [good|poor|messy] | lift | state``:
    put a finger on (or lift it off) a running simulated reader from another terminal."""
    parser = argparse.ArgumentParser(
        prog="python -m edge_agent.sensor.control", description="Controlar el lector simulado"
    )
    parser.add_argument("socket", type=Path, help="socket de control del lector (--control)")
    parser.add_argument("action", choices=["press", "lift", "state"], help="poner un dedo, levantarlo o ver el estado")
    parser.add_argument("finger", nargs="?", default="", help="nombre del dedo, p. ej. ana:indice_derecho")
    parser.add_argument("quality", nargs="?", default="good", choices=["good", "poor", "messy"])
    args = parser.parse_args(argv)
    control = SensorControl(args.socket)
    try:
        if args.action == "press":
            if not args.finger:
                parser.error("indique el nombre del dedo")
            reply = control.press(args.finger, args.quality)
        elif args.action == "lift":
            reply = control.lift()
        else:
            reply = control.state()
    except SensorControlError as exc:
        print(f"El lector rechazó la orden: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(reply, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
