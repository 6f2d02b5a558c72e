"""Process entry point of the nameko service: ``crm-beneficiaries-amqp``.

eventlet must patch the standard library before anything else is imported,
which is why this module is separate from the service definition.

nameko kills its service container when an extension fails, and a broker that
restarts while a worker acknowledges a message is such a failure
(``ConnectionResetError`` in ``ack_message``); ``nameko run`` then exits. Here
the container is started again after a pause instead: whatever it had not
acknowledged is redelivered by the broker, and the consumers are idempotent.
Only SIGTERM or SIGINT stop the process.
"""

import eventlet

eventlet.monkey_patch()

import errno  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
from typing import Any  # noqa: E402

log = logging.getLogger("crm-beneficiaries-amqp")
RESTART_PAUSE_SECONDS = (1.0, 2.0, 5.0, 10.0)


def main() -> None:
    from nameko.runners import ServiceRunner

    from crm_platform import process
    from crm_platform.telemetry import setup_tracing
    from services.beneficiaries.entrypoints.amqp import BeneficiariesService

    # Before any MongoClient exists: the pymongo instrumentation only sees
    # clients created after it is installed.
    setup_tracing(BeneficiariesService.name)

    process.configure_logging()
    config = {
        "AMQP_URI": os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
        "max_workers": int(os.environ.get("NAMEKO_MAX_WORKERS", "10")),
        "serializer": "json",
    }
    stopping = False
    runner: Any = None

    def shutdown(*_: object) -> None:
        # Signal handlers run in the main loop and cannot use eventlet primitives.
        nonlocal stopping
        stopping = True
        if runner is not None:
            eventlet.spawn_n(runner.stop)

    for sig in process.STOP_SIGNALS:
        signal.signal(sig, shutdown)
    crashes = 0
    while not stopping:
        runner = ServiceRunner(config)
        runner.add_service(BeneficiariesService)
        runner.start()
        try:
            _wait(runner)
            return  # stopped cleanly
        except Exception as exc:
            if stopping:
                return
            pause = RESTART_PAUSE_SECONDS[min(crashes, len(RESTART_PAUSE_SECONDS) - 1)]
            crashes += 1
            log.warning("service container died (%r); starting it again in %.0f s", exc, pause)
            try:
                runner.kill()
            except Exception:
                log.exception("killing the dead container failed")
            eventlet.sleep(pause)


def _wait(runner: Any) -> None:
    """``runner.wait()`` in a greenlet (as ``nameko run`` does), so an interrupted
    system call from a signal does not reach the runner."""
    waiting = eventlet.spawn(runner.wait)
    while True:
        try:
            waiting.wait()
            return
        except OSError as exc:
            if exc.errno == errno.EINTR:
                continue
            raise


if __name__ == "__main__":
    main()
