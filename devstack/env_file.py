"""``var/run/devstack.env``: where a running development stack says how to reach it,
so operator commands run from the repository (``crm-social verify``) find the
actas service and the database without flags. Written once the services answer,
removed when the stack stops. Addresses and the mode only: no secrets.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

FILE_NAME = "devstack.env"
KEYS = ("CRM_ENV", "ACTAS_GRPC", "MONGO_URI", "ACTAS_DB", "GATEWAY_URL")


def write(var_dir: Path, env: dict[str, str]) -> Path:
    path = var_dir / FILE_NAME
    lines = [f"{key}={env[key]}" for key in KEYS if env.get(key)]
    path.write_text("# Written by devstack while the stack runs; removed when it stops.\n" + "\n".join(lines) + "\n")
    return path


def remove(var_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (var_dir / FILE_NAME).unlink()
