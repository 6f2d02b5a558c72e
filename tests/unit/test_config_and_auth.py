"""Configuration refuses default secrets outside development; tokens and
passwords behave; the local stack names the component that failed."""

from __future__ import annotations

import subprocess
import sys
import time

import jwt
import pytest

from crm_platform.config import ConfigError, Infrastructure, secret
from crm_platform.identity import ISSUER as IDENTITY_ISSUER
from crm_platform.identity import InvalidCaller, _internal_secret, assert_caller, verify_caller
from devstack.infra import ComponentFailed, wait_for
from gateway.auth import ISSUER, Tokens, User, hash_password, verify_password
from gateway.config import GatewaySettings
from gateway.errors import ApiError


def test_secrets_have_no_default_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_JWT_SECRET", raising=False)
    monkeypatch.setenv("CRM_ENV", "production")
    with pytest.raises(ConfigError, match="GATEWAY_JWT_SECRET"):
        GatewaySettings.from_env()
    monkeypatch.delenv("CRM_ENV")
    with pytest.raises(ConfigError, match="S3_ACCESS_KEY"):
        Infrastructure.from_env()
    monkeypatch.setenv("CRM_ENV", "development")
    assert secret("ANY_SECRET_NAME", "dev-value") == "dev-value"


def test_a_short_jwt_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_ENV", "production")
    monkeypatch.setenv("GATEWAY_JWT_SECRET", "short")
    monkeypatch.setenv("GATEWAY_ADMIN_PASSWORD", "x" * 12)
    with pytest.raises(ConfigError, match="at least 32"):
        GatewaySettings.from_env()


def test_passwords_are_salted_and_verified() -> None:
    first, second = hash_password("clave-secreta-1"), hash_password("clave-secreta-1")
    assert first != second
    assert verify_password("clave-secreta-1", first)
    assert not verify_password("clave-secreta-2", first)
    assert not verify_password("clave-secreta-1", "md5$abc$def")


def test_tokens_round_trip_and_expire_and_reject_other_keys() -> None:
    tokens = Tokens("k" * 40, ttl_seconds=60)
    user = User("gestor1", "gestor", "Luis")
    assert tokens.verify(tokens.issue(user)) == user
    expired = jwt.encode(
        {"sub": "gestor1", "role": "gestor", "iss": ISSUER, "exp": int(time.time()) - 5}, "k" * 40, algorithm="HS256"
    )
    with pytest.raises(ApiError) as err:
        tokens.verify(expired)
    assert err.value.status == 401 and "expiró" in err.value.message
    with pytest.raises(ApiError):
        Tokens("z" * 40, 60).verify(tokens.issue(user))
    unknown_role = jwt.encode(
        {"sub": "x", "role": "root", "iss": ISSUER, "exp": int(time.time()) + 60}, "k" * 40, algorithm="HS256"
    )
    with pytest.raises(ApiError):
        tokens.verify(unknown_role)


def test_wait_for_names_the_component_that_exited() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    try:
        with pytest.raises(ComponentFailed, match=r"SecantusDB \(test\) exited with code 3"):
            wait_for("SecantusDB (test)", lambda: False, timeout=10, proc=proc)
    finally:
        proc.wait(5)


def test_wait_for_names_the_component_that_timed_out() -> None:
    with pytest.raises(ComponentFailed, match=r"SeaweedFS S3 .* did not become ready within 1s"):
        wait_for("SeaweedFS S3 (127.0.0.1:1)", lambda: False, timeout=1)


def test_caller_assertions_verify_and_refuse_expired_forged_or_missing_ones() -> None:
    assert verify_caller(assert_caller("kiosco-7", "kiosk")) == ("kiosco-7", "kiosk")
    now = int(time.time())
    expired = jwt.encode({"sub": "k", "role": "kiosk", "iss": IDENTITY_ISSUER, "exp": now - 1}, _internal_secret())
    forged = jwt.encode({"sub": "k", "role": "kiosk", "iss": IDENTITY_ISSUER, "exp": now + 60}, "x" * 40)
    for token in (None, "", expired, forged, "not.a.jwt"):
        with pytest.raises(InvalidCaller):
            verify_caller(token)
