"""Serves a SensorEmulator on a pseudo-terminal, so pyfingerprint can open it like a UART.

The pty is put in raw mode (a new one echoes and translates line endings) and
the simulator keeps its own slave end open for its whole life: otherwise reads
on the master fail with EIO whenever no client has the port open, which
happens on every PyFingerprint() (it opens, closes and reopens the port).

One background thread reads what the host writes, feeds the emulator and
writes the replies back. With ``throttle`` the thread also keeps to the wire
time of the configured baud rate (10 bits per byte, start and stop bits
included) in both directions; a pty itself ignores the baud rate.
"""

from __future__ import annotations

import errno
import os
import select
import threading
import time
import tty
from pathlib import Path
from types import TracebackType
from typing import Any

from edge_agent.sensor.emulator import Reply, SensorConfig, SensorEmulator
from edge_agent.sensor.fingers import Quality

BITS_PER_BYTE = 10
POLL_SECONDS = 0.1
# A host that stops mid-packet for this long has given up: drop the partial packet.
PARTIAL_PACKET_SECONDS = 1.0
# A host that reads nothing for this long is gone (pyfingerprint's read timeout is 2 s): drop the reply.
STALLED_WRITE_SECONDS = 3.0
# With throttling, replies go out in chunks of this many bytes, each at the time its last byte would arrive.
THROTTLE_CHUNK = 16


class PtySensor:
    """A simulated fingerprint module on a pseudo-terminal; ``port`` is the device path for pyfingerprint.

    Use as a context manager, or call ``start()`` and ``stop()``. ``press``,
    ``lift`` and ``state`` are safe to call from any thread.
    """

    def __init__(
        self,
        config: SensorConfig | None = None,
        *,
        throttle: bool = False,
        symlink: str | Path | None = None,
        emulator: SensorEmulator | None = None,
    ) -> None:
        self.emulator = emulator or SensorEmulator(config)
        self.throttle = throttle
        self.symlink = Path(symlink) if symlink else None
        self.port = ""
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._master = -1
        self._slave = -1

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> PtySensor:
        if self._thread is not None:
            raise RuntimeError("the sensor is already running")
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        if self.symlink:
            _replace_symlink(self.symlink, self.port)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name="fingerprint-sensor", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close the pty and remove the symlink. Idempotent."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1
        if self.symlink and self.symlink.is_symlink() and os.readlink(self.symlink) == self.port:
            self.symlink.unlink()

    def __enter__(self) -> PtySensor:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- test controls ---------------------------------------------------------------

    def press(self, finger: str, quality: Quality | str = Quality.GOOD, captures: int | None = None) -> None:
        with self._lock:
            self.emulator.press(finger, quality, captures)

    def lift(self) -> None:
        with self._lock:
            self.emulator.lift()

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {**self.emulator.state(), "port": self.port, "throttle": self.throttle}

    # -- the serving thread ------------------------------------------------------------

    def _serve(self) -> None:
        last_input = time.monotonic()
        while not self._stopping.is_set():
            data = self._read()
            now = time.monotonic()
            if not data:
                if now - last_input > PARTIAL_PACKET_SECONDS:
                    with self._lock:
                        self.emulator.discard_partial_packet()
                continue
            last_input = now
            with self._lock:
                baud_rate = self.emulator.baud_rate
            if self.throttle:
                # The bytes took this long to cross the wire before the sensor could act on them.
                self._stopping.wait(len(data) * BITS_PER_BYTE / baud_rate)
            with self._lock:
                replies = self.emulator.feed(data)
            for reply in replies:
                self._write(reply)

    def _read(self) -> bytes:
        readable, _, _ = select.select([self._master], [], [], POLL_SECONDS)
        if not readable:
            return b""
        try:
            return os.read(self._master, 4096)
        except BlockingIOError:
            return b""
        except OSError as exc:
            # EIO means no slave is open; we hold one, so this is only a transient race at close.
            if exc.errno != errno.EIO:
                raise
            self._stopping.wait(POLL_SECONDS)
            return b""

    def _write(self, reply: Reply) -> None:
        data = memoryview(reply.data)
        seconds_per_byte = BITS_PER_BYTE / reply.baud_rate if self.throttle else 0.0
        chunk = THROTTLE_CHUNK if self.throttle else len(data)
        started = last_progress = time.monotonic()
        sent = 0
        while sent < len(data) and not self._stopping.is_set():
            end = min(sent + chunk, len(data))
            if self.throttle:
                due = started + end * seconds_per_byte
                self._stopping.wait(max(0.0, due - time.monotonic()))
            _, writable, _ = select.select([], [self._master], [], POLL_SECONDS)
            if not writable:
                if time.monotonic() - last_progress > STALLED_WRITE_SECONDS:
                    return
                continue
            try:
                sent += os.write(self._master, data[sent:end])
                last_progress = time.monotonic()
            except BlockingIOError:
                continue


def _replace_symlink(link: Path, target: str) -> None:
    """Point ``link`` at ``target``, replacing an old symlink but never a real file."""
    if link.exists() and not link.is_symlink():
        raise FileExistsError(f"{link} exists and is not a symlink")
    staging = link.with_name(f".{link.name}.{os.getpid()}")
    staging.unlink(missing_ok=True)
    staging.symlink_to(target)
    os.replace(staging, link)
