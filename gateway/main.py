"""Process entry point: ``crm-gateway`` (uvicorn on HTTP_HOST:HTTP_PORT)."""

from __future__ import annotations

import logging
import os

import uvicorn

from crm_platform.config import int_setting, setting
from crm_platform.telemetry import setup_tracing


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    setup_tracing("gateway")
    from gateway.app import create_app

    app = create_app()
    uvicorn.run(
        app,
        host=setting("HTTP_HOST", "127.0.0.1"),
        port=int_setting("HTTP_PORT", 8080),
        log_level=os.environ.get("LOG_LEVEL", "info").lower(),
        timeout_graceful_shutdown=5,
        server_header=False,  # no "server: uvicorn": nothing to tell an attacker
    )


if __name__ == "__main__":
    main()
