"""The shared process start-up: a stop signal reaches the process's stop callback."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest

from crm_platform import process


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    previous = {sig: signal.getsignal(sig) for sig in process.STOP_SIGNALS}
    yield
    for sig, handler in previous.items():
        signal.signal(sig, handler)


@pytest.mark.parametrize("sig", process.STOP_SIGNALS)
def test_sigterm_and_sigint_call_the_stop_callback(sig: signal.Signals, restored_handlers: None) -> None:
    calls: list[str] = []
    process.on_stop_signal(lambda: calls.append("stop"))
    os.kill(os.getpid(), sig)
    assert calls == ["stop"]


def test_waiting_for_a_stop_signal_returns_when_one_arrives(restored_handlers: None) -> None:
    timer = threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        process.wait_for_stop_signal()  # would hang (and time out the suite) if the signal were missed
    finally:
        timer.cancel()
