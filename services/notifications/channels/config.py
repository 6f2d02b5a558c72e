"""The channel registry from environment variables.

A channel whose host or base URL is unset is not registered: a deployment without
an SMS contract simply has no SMS channel. Once a channel is switched on, its
other required settings must be there; secrets have defaults only in
development mode (``CRM_ENV=development``) and a missing one stops the process
with a message naming the variable.

Email: SMTP_HOST, SMTP_PORT (25), SMTP_USERNAME, SMTP_PASSWORD (secret, when a
username is set), SMTP_STARTTLS, SMTP_SSL, SMTP_SENDER, SMTP_TIMEOUT.
WhatsApp: WHATSAPP_BASE_URL, WHATSAPP_API_VERSION (v21.0), WHATSAPP_PHONE_NUMBER_ID,
WHATSAPP_ACCESS_TOKEN (secret), WHATSAPP_TIMEOUT, and for the delivery webhook
WHATSAPP_APP_SECRET (secret: the Meta app's secret, which signs every webhook)
and WHATSAPP_VERIFY_TOKEN (secret: the token we gave Meta for its subscription check).
SMS: SMS_BASE_URL, SMS_ACCOUNT_SID, SMS_AUTH_TOKEN (secret; it also signs the
status callbacks), SMS_SENDER, SMS_TIMEOUT, and SMS_STATUS_CALLBACK_URL (optional:
our public status-callback URL, sent with every SMS and checked in the signature;
unset, Twilio sends no status callbacks for our messages).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from crm_platform.config import ConfigError, int_setting, secret, setting
from services.notifications.channels.base import Channel, ChannelRegistry
from services.notifications.channels.sms import HttpSmsChannel, SmsSettings
from services.notifications.channels.smtp import SmtpChannel, SmtpSettings
from services.notifications.channels.whatsapp import WhatsAppCloudChannel, WhatsAppSettings

DEFAULT_TIMEOUT = 10.0


def smtp_from_env() -> SmtpChannel | None:
    host = setting("SMTP_HOST", "").strip()
    if not host:
        return None
    username = setting("SMTP_USERNAME", "").strip()
    try:
        settings = SmtpSettings(
            host=host,
            port=int_setting("SMTP_PORT", 25),
            username=username,
            password=secret("SMTP_PASSWORD", "crm-dev-smtp-password") if username else "",
            starttls=_flag("SMTP_STARTTLS"),
            ssl=_flag("SMTP_SSL"),
            sender=setting("SMTP_SENDER", "CRM Social <notificaciones@crm-social.localhost>"),
            timeout=_seconds("SMTP_TIMEOUT"),
        )
    except ValueError as exc:
        raise ConfigError(f"SMTP_STARTTLS and SMTP_SSL: {exc}") from None
    return SmtpChannel(settings)


def whatsapp_from_env() -> WhatsAppCloudChannel | None:
    base_url = setting("WHATSAPP_BASE_URL", "").strip()
    if not base_url:
        return None
    return WhatsAppCloudChannel(
        WhatsAppSettings(
            base_url=base_url,
            api_version=setting("WHATSAPP_API_VERSION", "v21.0"),
            phone_number_id=_required("WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_BASE_URL"),
            access_token=secret("WHATSAPP_ACCESS_TOKEN", "crm-dev-whatsapp-token"),
            timeout=_seconds("WHATSAPP_TIMEOUT"),
            app_secret=secret("WHATSAPP_APP_SECRET", "crm-dev-whatsapp-app-secret"),
            verify_token=secret("WHATSAPP_VERIFY_TOKEN", "crm-dev-whatsapp-verify-token"),
        )
    )


def sms_from_env() -> HttpSmsChannel | None:
    base_url = setting("SMS_BASE_URL", "").strip()
    if not base_url:
        return None
    return HttpSmsChannel(
        SmsSettings(
            base_url=base_url,
            account_sid=_required("SMS_ACCOUNT_SID", "SMS_BASE_URL"),
            auth_token=secret("SMS_AUTH_TOKEN", "crm-dev-sms-token"),
            sender=_required("SMS_SENDER", "SMS_BASE_URL"),
            timeout=_seconds("SMS_TIMEOUT"),
            status_callback_url=_optional_url("SMS_STATUS_CALLBACK_URL"),
        )
    )


# One builder per channel; a new channel adds its adapter module and one line here.
BUILDERS: tuple[Callable[[], Channel | None], ...] = (whatsapp_from_env, sms_from_env, smtp_from_env)


def channels_from_env() -> ChannelRegistry:
    """Every channel configured in the environment."""
    return ChannelRegistry(channel for build in BUILDERS if (channel := build()) is not None)


def _flag(name: str) -> bool:
    raw = setting(name, "false").strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"", "0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _seconds(name: str) -> float:
    raw = setting(name, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 < value <= 300:
        raise ConfigError(f"{name} must be between 0 and 300 seconds, got {raw!r}")
    return value


def _optional_url(name: str) -> str:
    """An absolute http(s) URL, or "" when unset: a bad one would fail every send, so it fails here."""
    value = setting(name, "").strip()
    if value:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ConfigError(f"{name} must be an absolute http(s) URL, got {value!r}")
    return value


def _required(name: str, because: str) -> str:
    value = setting(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is required when {because} is set")
    return value
