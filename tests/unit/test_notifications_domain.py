"""The notifications domain without I/O: Spanish templates, phone numbers, retries, HTTP outcomes.

Also the pure parts of the channel adapters (request payload, Retry-After) and the
channel registry built from configuration (which opens no connection).
"""

from __future__ import annotations

import os
import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_platform.config import ConfigError
from services.notifications.channels.base import ChannelRegistry, UnknownChannel
from services.notifications.channels.config import channels_from_env
from services.notifications.channels.http import retry_after_seconds
from services.notifications.channels.whatsapp import payload
from services.notifications.domain.errors import (
    InvalidAddress,
    InvalidPhone,
    MessageTooLong,
    MissingVariables,
    NotificationError,
    UnknownTemplate,
)
from services.notifications.domain.model import ChannelName, Outgoing, Receipt
from services.notifications.domain.phones import is_mobile, normalise_phone
from services.notifications.domain.retry import RetryPolicy, classify_http, provider_error_code
from services.notifications.domain.templates import (
    EMAIL_FOOTER,
    SMS_MAX_SEGMENTS,
    TEMPLATES,
    MessageTemplate,
    render,
    sms_segments,
    spanish_date,
)

props = settings(database=None, max_examples=200)

ACTA = {
    "nombre": "María José Pérez",
    "titulo": "Reunión de concertación",
    "fecha": date(2024, 5, 6),
    "enlace": "https://crm.example.org/actas/3f2a9c/copia",
}
SAMPLES: dict[str, dict[str, Any]] = {
    "acta_sellada": ACTA,
    "acta_registrada": {k: ACTA[k] for k in ("nombre", "fecha", "enlace")},
    "recordatorio_reunion": {
        "nombre": "Ana Díaz",
        "fecha": date(2024, 6, 14),
        "hora": time(15, 0),
        "lugar": "la caseta comunal de Barrancas",
        "tema": "reubicación de viviendas",
    },
    "documento_disponible": {
        "nombre": "Luis Ñáñez",
        "documento": "Certificado de participación",
        "enlace": "https://crm.example.org/documentos/77",
    },
    "recordatorio_pago": {
        "nombre": "Ana Díaz",
        "credito": "3F2A9C1B",
        "cuota": "3",
        "fecha_pago": "05/01/2027",
        "valor": "$ 1.234.567",
    },
    "cuota_vencida": {"nombre": "Ana Díaz", "credito": "3F2A9C1B", "dias": "12", "valor": "$ 85.000"},
}


# -- rendering -------------------------------------------------------------------
def test_acta_sellada_email_has_spanish_subject_body_and_footer() -> None:
    message = render("acta_sellada", ChannelName.EMAIL, " maria@example.org ", "acta:1:b1", ACTA)

    assert message == Outgoing(
        message_key="acta:1:b1",
        channel=ChannelName.EMAIL,
        to="maria@example.org",
        template="acta_sellada",
        language="es",
        subject="Su acta «Reunión de concertación» quedó registrada",
        text=(
            "Hola María José Pérez, su acta «Reunión de concertación» del 6 de mayo de 2024 quedó registrada. "
            "Puede ver su copia aquí: https://crm.example.org/actas/3f2a9c/copia" + EMAIL_FOOTER
        ),
    )


def test_acta_sellada_sms_is_the_body_alone_to_an_e164_number() -> None:
    message = render("acta_sellada", "sms", "300 123 4567", "k", ACTA)

    assert message.to == "+573001234567"
    assert message.subject == "" and message.parameters == ()
    assert message.text.startswith("Hola María José Pérez, su acta «Reunión de concertación» del 6 de mayo de 2024")
    assert EMAIL_FOOTER not in message.text


def test_whatsapp_carries_the_approved_parameters_in_order() -> None:
    message = render(
        "recordatorio_reunion", ChannelName.WHATSAPP, "+57 300 123 4567", "k", SAMPLES["recordatorio_reunion"]
    )

    assert message.parameters == (
        "Ana Díaz",
        "reubicación de viviendas",
        "14 de junio de 2024",
        "15:00",
        "la caseta comunal de Barrancas",
    )
    assert "el 14 de junio de 2024 a las 15:00 en la caseta comunal de Barrancas" in message.text


@pytest.mark.parametrize("name", sorted(TEMPLATES))
@pytest.mark.parametrize("channel", list(ChannelName))
def test_every_template_renders_on_every_channel_without_leftover_markup(name: str, channel: ChannelName) -> None:
    to = "ana@example.org" if channel is ChannelName.EMAIL else "3001234567"

    message = render(name, channel, to, "k", SAMPLES[name])

    assert message.text.startswith("Hola ")
    assert "{{" not in message.text and "{{" not in message.subject
    assert bool(message.subject) is (channel is ChannelName.EMAIL)
    assert len(message.parameters) == (len(TEMPLATES[name].whatsapp_parameters) if channel == "whatsapp" else 0)


def test_every_missing_or_empty_variable_is_named_and_nothing_is_rendered() -> None:
    variables = {"nombre": "  ", "titulo": None, "enlace": "https://x.test/a"}

    with pytest.raises(MissingVariables) as raised:
        render("acta_sellada", "email", "a@example.org", "k", variables)

    assert raised.value.template == "acta_sellada"
    assert raised.value.names == ("nombre", "titulo", "fecha")
    assert "nombre, titulo, fecha" in str(raised.value)


def test_an_unknown_template_is_refused_by_name() -> None:
    with pytest.raises(UnknownTemplate, match="'acta_perdida'") as raised:
        render("acta_perdida", "sms", "3001234567", "k", ACTA)
    assert raised.value.name == "acta_perdida"


def test_variables_a_template_does_not_use_are_ignored() -> None:
    message = render("documento_disponible", "sms", "3001234567", "k", {**SAMPLES["documento_disponible"], "otro": 1})
    assert "otro" not in message.text


def test_values_are_data_never_template_source() -> None:
    variables = {**ACTA, "nombre": "{{ 7 * 7 }} <b>&</b>"}
    message = render("acta_sellada", "email", "a@example.org", "k", variables)
    assert message.text.startswith("Hola {{ 7 * 7 }} <b>&</b>, su acta")


def test_line_breaks_and_runs_of_spaces_in_values_are_collapsed() -> None:
    variables = {**ACTA, "titulo": "Reunión\n\tde   concertación  "}
    message = render("acta_sellada", "whatsapp", "3001234567", "k", variables)
    assert message.parameters[1] == "Reunión de concertación"


def test_dates_and_times_are_written_in_spanish() -> None:
    assert spanish_date(date(2024, 12, 1)) == "1 de diciembre de 2024"
    variables = {**ACTA, "fecha": datetime(2024, 2, 29, 9, 5)}
    assert "del 29 de febrero de 2024, 09:05 quedó" in render("acta_sellada", "sms", "3001234567", "k", variables).text


def test_phone_channels_refuse_an_invalid_number_and_email_an_invalid_address() -> None:
    with pytest.raises(InvalidPhone, match="'12345'"):
        render("acta_sellada", "whatsapp", "12345", "k", ACTA)
    with pytest.raises(InvalidAddress, match="not an email address"):
        render("acta_sellada", "email", "maria.example.org", "k", ACTA)


def test_an_sms_longer_than_the_segment_limit_is_refused_not_truncated() -> None:
    variables = {**ACTA, "titulo": "Acta de la reunión " * 20}

    with pytest.raises(MessageTooLong) as raised:
        render("acta_sellada", "sms", "3001234567", "k", variables)

    assert raised.value.limit == SMS_MAX_SEGMENTS and raised.value.length > SMS_MAX_SEGMENTS
    # the same content is fine by email
    assert render("acta_sellada", "email", "a@example.org", "k", variables).text


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("ñÑüéà¿¡" + "a" * 153, 1),  # all in GSM-7
        ("{" * 80, 1),  # extension characters take two septets
        ("{" * 81, 2),
        ("á" * 70, 1),  # á is not GSM-7: UCS-2
        ("á" * 71, 2),
        ("á" * 134, 2),
        ("á" * 135, 3),
        ("😀" * 35, 1),  # two UTF-16 units each
        ("😀" * 36, 2),
    ],
)
def test_sms_segments_follow_gsm7_and_ucs2_sizes(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


def test_a_whatsapp_body_beyond_metas_limit_is_refused() -> None:
    with pytest.raises(MessageTooLong, match="limit is 1024"):
        render("acta_sellada", "whatsapp", "3001234567", "k", {**ACTA, "titulo": "x" * 1000})


def test_a_template_cannot_use_a_variable_it_does_not_declare() -> None:
    with pytest.raises(ValueError, match="undeclared variables \\['lugar'\\]"):
        MessageTemplate(
            name="x", variables=("nombre",), subject="", body="{{ nombre }} {{ lugar }}",
            whatsapp_template="x", whatsapp_parameters=("nombre",),
        )  # fmt: skip


def test_rendering_errors_share_one_base_class() -> None:
    for error in (UnknownTemplate, MissingVariables, MessageTooLong, InvalidPhone, InvalidAddress):
        assert issubclass(error, NotificationError)


# -- phone numbers ---------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        "300 123 4567",
        "3001234567",
        "300-123-4567",
        "(300) 123-4567",
        "300.123.4567",
        " +57 300 1234567 ",
        "+573001234567",
        "57 300 123 4567",
        "0057 300 123 4567",
    ],
)
def test_colombian_mobiles_are_normalised_to_e164(raw: str) -> None:
    assert normalise_phone(raw) == "+573001234567"
    assert is_mobile(normalise_phone(raw))


@pytest.mark.parametrize(("raw", "e164"), [("(604) 444 5555", "+576044445555"), ("601 234 5678", "+576012345678")])
def test_colombian_landlines_are_valid_but_not_mobile(raw: str, e164: str) -> None:
    assert normalise_phone(raw) == e164
    assert not is_mobile(e164)


def test_numbers_with_a_country_code_keep_it() -> None:
    assert normalise_phone("+1 (415) 555-0100") == "+14155550100"
    assert normalise_phone("415 555 0100", default_region="US") == "+14155550100"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("123", "too few digits"),
        ("300 123 456", "digits"),
        ("300 ABC 4567", "characters that are not part of a phone number"),
        ("300 123 4567 ext. 2", "characters that are not part of a phone number"),
        ("+57 1 2345678", "numbering plan of CO"),  # Bogotá's format before 2021
        ("+999 1234 5678", "country calling code"),
    ],
)
def test_invalid_phone_numbers_are_refused_naming_input_and_reason(raw: str, why: str) -> None:
    with pytest.raises(InvalidPhone) as raised:
        normalise_phone(raw)
    assert raised.value.raw == raw
    assert why in raised.value.reason
    assert repr(raw) in str(raised.value)


def test_is_mobile_is_false_for_what_is_not_a_number() -> None:
    assert not is_mobile("not a number")
    assert not is_mobile("3001234567")  # not E.164: no country


# -- retry policy ----------------------------------------------------------------
class Fixed:
    """A random source that always returns the same value."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


MIDDLE = Fixed(0.5)  # no spread either way


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    policy = RetryPolicy()
    assert [policy.delay(n, rng=MIDDLE) for n in range(1, 7)] == [2, 4, 8, 16, 32, 64]
    assert policy.delay(9, rng=MIDDLE) == 512
    assert policy.delay(10, rng=MIDDLE) == 600
    assert policy.delay(10_000, rng=MIDDLE) == 600


def test_jitter_spreads_a_delay_by_at_most_its_fraction_either_way() -> None:
    policy = RetryPolicy(jitter=0.2)
    assert policy.delay(3, rng=Fixed(0.0)) == pytest.approx(8 * 0.8)
    assert policy.delay(3, rng=Fixed(0.999999)) == pytest.approx(8 * 1.2, rel=1e-5)
    rng = random.Random(7)
    delays = {policy.delay(3, rng=rng) for _ in range(500)}
    assert min(delays) >= 6.4 and max(delays) <= 9.6
    assert len(delays) > 400  # actually spread, not constant


@props
@given(attempt=st.integers(1, 10_000), seed=st.integers(0, 2**32), retry_after=st.none() | st.floats(0, 1e9))
def test_a_delay_is_never_negative_nor_beyond_the_cap(attempt: int, seed: int, retry_after: float | None) -> None:
    delay = RetryPolicy().delay(attempt, retry_after, random.Random(seed))
    assert 0 <= delay <= 600


def test_the_providers_retry_after_wins_and_is_never_shortened() -> None:
    policy = RetryPolicy()
    assert policy.delay(1, retry_after=30, rng=Fixed(0.0)) == 30
    assert 30 <= policy.delay(1, retry_after=30, rng=Fixed(0.99)) <= 36
    assert policy.delay(5, retry_after=1, rng=Fixed(0.0)) == 1  # even when the backoff would be longer
    assert policy.delay(1, retry_after=86_400, rng=Fixed(0.5)) == 600  # bounded by the cap


def test_the_policy_gives_up_after_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=6)
    assert [policy.gives_up(n) for n in range(1, 8)] == [False] * 5 + [True, True]


def test_nonsense_policies_and_attempts_are_refused() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(base_seconds=0)
    with pytest.raises(ValueError):
        RetryPolicy(cap_seconds=1, base_seconds=2)
    with pytest.raises(ValueError):
        RetryPolicy(jitter=1.5)
    with pytest.raises(ValueError):
        RetryPolicy().delay(0)


# -- HTTP outcomes -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "ok"),
        (201, "ok"),
        (408, "transient"),
        (425, "transient"),
        (429, "transient"),
        (500, "transient"),
        (502, "transient"),
        (503, "transient"),
        (504, "transient"),
        (400, "permanent"),
        (401, "permanent"),
        (403, "permanent"),
        (404, "permanent"),
        (422, "permanent"),
        (302, "permanent"),
    ],
)
def test_http_statuses_are_classified(status: int, outcome: str) -> None:
    assert classify_http(status, None) == outcome


def test_a_listed_provider_error_code_overrides_the_status() -> None:
    graph_rate_limit = {"error": {"message": "(#130429) Rate limit hit", "code": 130429}}
    twilio_invalid = {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}
    assert classify_http(400, graph_rate_limit) == "permanent"
    assert classify_http(400, graph_rate_limit, transient_codes={130429}) == "transient"
    assert classify_http(503, twilio_invalid, permanent_codes={21211}) == "permanent"
    assert classify_http(200, graph_rate_limit, transient_codes={130429}) == "ok"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"error": {"code": 131026}}, 131026),
        ({"code": 21211}, 21211),
        ({"code": "20429"}, 20429),
        ({"code": True}, None),
        ({"error": "boom"}, None),
        ("<html>", None),
        (None, None),
    ],
)
def test_provider_error_codes_are_read_from_graph_and_twilio_bodies(body: Any, code: int | None) -> None:
    assert provider_error_code(body) == code


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds(" 1.5 ") == 1.5
    assert retry_after_seconds("Mon, 06 May 2024 12:00:30 GMT", now=now) == 30
    assert retry_after_seconds("Mon, 06 May 2024 11:00:00 GMT", now=now) == 0
    assert retry_after_seconds((now + timedelta(minutes=2)).strftime("%a, %d %b %Y %H:%M:%S GMT"), now=now) == 120
    for nonsense in (None, "", "soon", "nan", "inf"):
        assert retry_after_seconds(nonsense) is None


# -- channel payloads, registry and configuration -------------------------------------
def test_whatsapp_payload_is_the_documented_template_message() -> None:
    message = render("documento_disponible", "whatsapp", "3001234567", "k", SAMPLES["documento_disponible"])
    assert payload(message) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "573001234567",
        "type": "template",
        "template": {
            "name": "documento_disponible",
            "language": {"code": "es"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Luis Ñáñez"},
                        {"type": "text", "text": "Certificado de participación"},
                        {"type": "text", "text": "https://crm.example.org/documentos/77"},
                    ],
                }
            ],
        },
    }


class FakeChannel:
    def __init__(self, name: ChannelName) -> None:
        self.name = name
        self.closed = False

    def send(self, message: Outgoing) -> Receipt:
        return Receipt("fake", message.message_key)

    def close(self) -> None:
        self.closed = True


def test_the_registry_maps_names_to_channels_and_refuses_duplicates() -> None:
    sms, email = FakeChannel(ChannelName.SMS), FakeChannel(ChannelName.EMAIL)
    registry = ChannelRegistry([sms, email])

    assert registry[ChannelName.SMS] is sms and registry["email"] is email  # type: ignore[index]
    assert list(registry) == [ChannelName.SMS, ChannelName.EMAIL]
    assert ChannelName.WHATSAPP not in registry and registry.get(ChannelName.WHATSAPP) is None
    with pytest.raises(UnknownChannel):
        registry[ChannelName.WHATSAPP]
    with pytest.raises(ValueError, match="already registered"):
        registry.register(FakeChannel(ChannelName.SMS))
    registry.close()
    assert sms.closed and email.closed


CHANNEL_PREFIXES = ("SMTP_", "WHATSAPP_", "SMS_")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in [n for n in os.environ if n.startswith(CHANNEL_PREFIXES)] + ["CRM_ENV"]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_channels_without_a_host_or_base_url_are_not_registered(clean_env: pytest.MonkeyPatch) -> None:
    assert len(channels_from_env()) == 0
    clean_env.setenv("SMTP_HOST", "127.0.0.1")
    registry = channels_from_env()
    assert list(registry) == [ChannelName.EMAIL]
    registry.close()


def test_configured_channels_are_registered(clean_env: pytest.MonkeyPatch) -> None:
    for name, value in {
        "WHATSAPP_BASE_URL": "http://127.0.0.1:1",
        "WHATSAPP_PHONE_NUMBER_ID": "1065",
        "WHATSAPP_ACCESS_TOKEN": "t",
        "WHATSAPP_APP_SECRET": "a",
        "WHATSAPP_VERIFY_TOKEN": "v",
        "SMS_BASE_URL": "http://127.0.0.1:2",
        "SMS_ACCOUNT_SID": "AC1",
        "SMS_AUTH_TOKEN": "s",
        "SMS_SENDER": "+15005550006",
        "SMTP_HOST": "mail.example.org",
        "SMTP_PORT": "587",
        "SMTP_STARTTLS": "true",
        "SMTP_USERNAME": "crm",
        "SMTP_PASSWORD": "s3cr3t-smtp",
    }.items():
        clean_env.setenv(name, value)

    registry = channels_from_env()

    assert list(registry) == [ChannelName.WHATSAPP, ChannelName.SMS, ChannelName.EMAIL]
    email = registry[ChannelName.EMAIL]
    assert email.settings.port == 587 and email.settings.starttls  # type: ignore[attr-defined]
    assert "s3cr3t-smtp" not in repr(email.settings)  # type: ignore[attr-defined]
    registry.close()


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"WHATSAPP_BASE_URL": "http://x", "WHATSAPP_ACCESS_TOKEN": "t"}, "WHATSAPP_PHONE_NUMBER_ID"),
        ({"WHATSAPP_BASE_URL": "http://x", "WHATSAPP_PHONE_NUMBER_ID": "1"}, "WHATSAPP_ACCESS_TOKEN"),
        ({"SMS_BASE_URL": "http://x", "SMS_ACCOUNT_SID": "AC1", "SMS_SENDER": "+1"}, "SMS_AUTH_TOKEN"),
        ({"SMTP_HOST": "h", "SMTP_USERNAME": "u"}, "SMTP_PASSWORD"),
        ({"SMTP_HOST": "h", "SMTP_PORT": "veinticinco"}, "SMTP_PORT"),
        ({"SMTP_HOST": "h", "SMTP_SSL": "quizás"}, "SMTP_SSL"),
        ({"SMTP_HOST": "h", "SMTP_SSL": "1", "SMTP_STARTTLS": "1"}, "SMTP_SSL"),
        ({"SMS_BASE_URL": "http://x", "SMS_AUTH_TOKEN": "t", "SMS_SENDER": "+1"}, "SMS_ACCOUNT_SID"),
        ({"SMTP_HOST": "h", "SMTP_TIMEOUT": "-1"}, "SMTP_TIMEOUT"),
    ],
)
def test_a_switched_on_channel_missing_a_setting_fails_naming_it(
    clean_env: pytest.MonkeyPatch, settings: dict[str, str], named: str
) -> None:
    for name, value in settings.items():
        clean_env.setenv(name, value)
    with pytest.raises(ConfigError, match=named):
        channels_from_env()


def test_secrets_have_defaults_in_development_mode_only(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SMS_BASE_URL", "http://127.0.0.1:2")
    clean_env.setenv("SMS_ACCOUNT_SID", "AC1")
    clean_env.setenv("SMS_SENDER", "+15005550006")
    with pytest.raises(ConfigError, match="SMS_AUTH_TOKEN"):
        channels_from_env()
    clean_env.setenv("CRM_ENV", "development")
    registry = channels_from_env()
    assert list(registry) == [ChannelName.SMS]
    registry.close()
