"""Gateway settings from the environment (secrets required outside development)."""

from __future__ import annotations

from dataclasses import dataclass

from crm_platform.config import int_setting, secret, setting


@dataclass(frozen=True)
class GatewaySettings:
    jwt_secret: str
    token_ttl_seconds: int
    admin_password: str
    beneficiaries_grpc: str
    actas_grpc: str
    documents_grpc: str
    notifications_grpc: str
    mongo_uri: str
    db_name: str
    max_body_bytes: int
    grpc_timeout_seconds: float
    # Login throttling (gateway/throttle.py): failures allowed per account and per
    # client address before a lock, the first lock, its cap (it doubles with each
    # further failure) and how long failures are remembered.
    login_free_failures: int = 5
    login_client_free_failures: int = 20
    login_lock_seconds: int = 30
    login_max_lock_seconds: int = 900
    login_window_seconds: int = 900
    # The staff web app (gateway/web): a session idle this long is logged out, and
    # its cookies carry Secure even over plain HTTP (behind a TLS-terminating proxy
    # that does not forward the scheme).
    web_idle_seconds: int = 1800
    web_secure_cookies: bool = False
    reports_grpc: str = "127.0.0.1:50055"
    # The income service (generación de ingresos), added after the others.
    income_grpc: str = "127.0.0.1:50056"

    @classmethod
    def from_env(cls) -> GatewaySettings:
        jwt_secret = secret("GATEWAY_JWT_SECRET", "development-only-jwt-secret-change-me!")
        if len(jwt_secret) < 32:
            from crm_platform.config import ConfigError

            raise ConfigError("GATEWAY_JWT_SECRET must be at least 32 characters")
        return cls(
            jwt_secret=jwt_secret,
            token_ttl_seconds=int_setting("GATEWAY_TOKEN_TTL_SECONDS", 8 * 3600),
            admin_password=secret("GATEWAY_ADMIN_PASSWORD", "admin-dev-password"),
            beneficiaries_grpc=setting("BENEFICIARIES_GRPC", "127.0.0.1:50051"),
            actas_grpc=setting("ACTAS_GRPC", "127.0.0.1:50052"),
            documents_grpc=setting("DOCUMENTS_GRPC", "127.0.0.1:50053"),
            notifications_grpc=setting("NOTIFICATIONS_GRPC", "127.0.0.1:50054"),
            income_grpc=setting("INCOME_GRPC", "127.0.0.1:50056"),
            mongo_uri=setting("MONGO_URI", "mongodb://127.0.0.1:27017/?directConnection=true"),
            db_name=setting("GATEWAY_DB", "crm_gateway"),
            max_body_bytes=int_setting("GATEWAY_MAX_BODY_BYTES", 256 * 1024),
            grpc_timeout_seconds=float(setting("GATEWAY_GRPC_TIMEOUT_SECONDS", "10")),
            login_free_failures=int_setting("GATEWAY_LOGIN_FREE_FAILURES", 5),
            login_client_free_failures=int_setting("GATEWAY_LOGIN_CLIENT_FREE_FAILURES", 20),
            login_lock_seconds=int_setting("GATEWAY_LOGIN_LOCK_SECONDS", 30),
            login_max_lock_seconds=int_setting("GATEWAY_LOGIN_MAX_LOCK_SECONDS", 900),
            login_window_seconds=int_setting("GATEWAY_LOGIN_WINDOW_SECONDS", 900),
            web_idle_seconds=int_setting("GATEWAY_WEB_IDLE_SECONDS", 1800),
            web_secure_cookies=setting("GATEWAY_WEB_SECURE_COOKIES", "0") == "1",
            reports_grpc=setting("REPORTS_GRPC", "127.0.0.1:50055"),
        )
