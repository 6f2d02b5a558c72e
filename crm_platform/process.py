"""What every service process does the same way at start and stop: log lines in one
format at ``LOG_LEVEL``, and a clean stop on SIGTERM (Kubernetes, compose, devstack)
or SIGINT (Ctrl-C)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def configure_logging(default_level: str = "INFO") -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", default_level), format=LOG_FORMAT)


def on_stop_signal(stop: Callable[[], None]) -> None:
    """Call ``stop`` (once per signal, from the main thread) on SIGTERM or SIGINT."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, lambda *_: stop())


def wait_for_stop_signal() -> None:
    """Block the main thread until SIGTERM or SIGINT (the servers run in their own threads)."""
    stopped = threading.Event()
    on_stop_signal(stopped.set)
    stopped.wait()


class Periodic(threading.Thread):
    """Runs ``step`` every ``interval`` seconds until stopped; a failing step is
    logged and tried again at the next tick (retry loops, sweeps)."""

    def __init__(self, name: str, step: Callable[[], object], interval: float) -> None:
        super().__init__(name=name, daemon=True)
        self.step, self.interval = step, interval
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                self.step()
            except Exception:
                log.exception("%s failed; again in %.1f s", self.name, self.interval)

    def stop(self) -> None:
        self.stopping.set()
