"""Typed configuration from environment variables.

Non-secrets have local defaults. Secrets have a default only in development mode
(``CRM_ENV=development``); anywhere else a missing secret stops the process with a
message that names the variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


class ConfigError(RuntimeError):
    """A required setting is missing or malformed."""


DEVELOPMENT = "development"


def environment() -> str:
    return os.environ.get("CRM_ENV", "production").strip().lower()


def is_development() -> bool:
    return environment() == DEVELOPMENT


def setting(name: str, default: str) -> str:
    return os.environ.get(name, default)


def int_setting(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def secret(name: str, development_default: str) -> str:
    """A secret setting: required outside development mode."""
    value = os.environ.get(name)
    if value:
        return value
    if is_development():
        return development_default
    raise ConfigError(f"{name} is required (no default secrets outside CRM_ENV=development)")


@dataclass(frozen=True)
class Infrastructure:
    """Connection settings every service reads, so the same code runs against the
    local stand-ins, docker-compose and Kubernetes."""

    amqp_uri: str
    mongo_uri: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_secure: bool

    @classmethod
    def from_env(cls) -> Infrastructure:
        return cls(
            amqp_uri=setting("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
            mongo_uri=setting("MONGO_URI", "mongodb://127.0.0.1:27017/?directConnection=true"),
            s3_endpoint=setting("S3_ENDPOINT", "127.0.0.1:8333"),
            s3_access_key=secret("S3_ACCESS_KEY", "crm-dev-access"),
            s3_secret_key=secret("S3_SECRET_KEY", "crm-dev-secret-key"),
            s3_secure=setting("S3_SECURE", "false").lower() in {"1", "true", "yes"},
        )
