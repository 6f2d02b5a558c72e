"""Process entry point of the nameko service: ``crm-beneficiaries-amqp``.

eventlet must patch the standard library before anything else is imported,
which is why this module is separate from the service definition.
"""

import eventlet

eventlet.monkey_patch()

import os  # noqa: E402


def main() -> None:
    from nameko.cli.run import run

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
    run([BeneficiariesService], config)


if __name__ == "__main__":
    main()
