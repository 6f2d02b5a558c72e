"""A loopback TCP proxy that tests (and a developer at a console) control, to put a
broken network between the kiosk and the bus.

- :meth:`TcpProxy.cut` drops every open connection and refuses new ones (the
  listening socket is closed): what a kiosk sees when the link goes down hard.
- :meth:`TcpProxy.blackhole` keeps every socket open but silently discards every
  byte in both directions, and accepts new connections that never get an answer:
  a link that stalls. Only bounded timeouts get a client out of that. With
  ``replies_only`` the client's bytes still arrive and only the answers are lost
  (a message reaches the broker, its confirm never reaches the kiosk).
- :meth:`TcpProxy.restore` forwards again, on the same port.

Two threads per connection copy bytes; this is a test tool, not a production proxy.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import threading
from collections.abc import Sequence

LOOPBACK = "127.0.0.1"


class TcpProxy:
    def __init__(self, upstream: tuple[str, int], *, host: str = LOOPBACK, port: int = 0) -> None:
        self.upstream = upstream
        self.host = host
        self.port = port
        self.accepted = 0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._upstream_open = True  # client -> server bytes are forwarded
        self._downstream_open = True  # server -> client bytes are forwarded

    # -- control -----------------------------------------------------------------------
    def start(self) -> TcpProxy:
        self._listen()
        return self

    def cut(self) -> None:
        """Close every connection and refuse new ones until :meth:`restore`."""
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not,
            # and the kernel would keep accepting connections for it.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        self._close_all()

    def blackhole(self, *, replies_only: bool = False) -> None:
        """Keep connections open but discard the bytes: both ways, or only the server's."""
        self._downstream_open = False
        if not replies_only:
            self._upstream_open = False

    def restore(self) -> None:
        self._upstream_open = self._downstream_open = True
        if self._listener is None:
            self._listen()

    def close(self) -> None:
        self.cut()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._sockets) // 2

    # -- plumbing ------------------------------------------------------------------------
    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name=f"proxy-accept-{self.port}", daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: cut() or close()
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut while connecting
                    client.close()
                    upstream.close()
                    return
                self._sockets.update((client, upstream))
                self.accepted += 1
            for src, dst, upward in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pump, args=(src, dst, upward), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, upward: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if self._upstream_open if upward else self._downstream_open:
                    dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                self._forget(sock)

    def _forget(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def _close_all(self) -> None:
        with self._lock:
            sockets = list(self._sockets)
            self._sockets.clear()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m edge_agent.tcp_proxy --upstream 127.0.0.1:5672 --port 15672``; then
    type ``cut``, ``blackhole``, ``replies`` (blackhole the answers only), ``restore`` or ``quit``."""
    parser = argparse.ArgumentParser(prog="python -m edge_agent.tcp_proxy", description="Proxy TCP de prueba.")
    parser.add_argument("--upstream", required=True, help="destino, HOST:PUERTO")
    parser.add_argument("--port", type=int, default=0, help="puerto local (0 = uno libre)")
    args = parser.parse_args(argv)
    host, _, port = args.upstream.rpartition(":")
    with TcpProxy((host or LOOPBACK, int(port)), port=args.port) as proxy:
        print(f"Proxy en {LOOPBACK}:{proxy.port} -> {args.upstream}. Órdenes: cut, blackhole, replies, restore, quit.")
        actions = {
            "cut": proxy.cut,
            "blackhole": proxy.blackhole,
            "replies": lambda: proxy.blackhole(replies_only=True),
            "restore": proxy.restore,
        }
        try:
            while True:
                command = input("> ").strip()
                if command == "quit":
                    break
                actions.get(command, lambda: print("Orden desconocida."))()
        except (EOFError, KeyboardInterrupt):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
