"""Spanish message templates and their rendering into one ``Outgoing`` per channel.

Each template names the variables it requires. ``render`` checks all of them
before rendering and reports every one missing or empty at once, so a message
never leaves half-filled. Variables a template does not use are ignored: a
trigger may pass one context to several templates, and a misspelt name still
shows up as a missing one.

Email gets a subject and the body plus a short footer; SMS the body (or the
template's shorter ``sms_body``, when it has one), within ``SMS_MAX_SEGMENTS``
segments; WhatsApp the name of the template approved by Meta and its body
parameters in order (the rendered body is kept for the log and must
match the approved text).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from jinja2 import Environment, StrictUndefined, Template, UndefinedError, meta

from services.notifications.domain.errors import (
    InvalidAddress,
    MessageTooLong,
    MissingVariables,
    UnknownTemplate,
)
from services.notifications.domain.model import ChannelName, Outgoing
from services.notifications.domain.phones import normalise_phone

LANGUAGE = "es"

# Plain text, never HTML: escaping would show "&amp;" to the reader. Values are
# data, never template source, so "{{" in a name renders as written.
_ENV = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)  # noqa: S701

EMAIL_FOOTER = "\n\n--\nEste es un mensaje automático; por favor no lo responda."

# An SMS longer than one segment is sent, and billed, as several. Four segments
# hold 268 characters of Spanish with accents (UCS-2) or 612 without (GSM-7).
SMS_MAX_SEGMENTS = 4
# Meta's limit for the body of a template message.
WHATSAPP_MAX_BODY = 1024

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class MessageTemplate:
    """One message in its channel forms. ``subject`` and ``body`` are Jinja2 source."""

    name: str
    variables: tuple[str, ...]  # required, each non-empty
    subject: str
    body: str
    whatsapp_template: str  # the name approved in WhatsApp Manager
    whatsapp_parameters: tuple[str, ...]  # variables, in the order of {{1}}, {{2}}, ...
    sms_body: str = ""  # a shorter text for SMS; the body when empty
    _subject: Template = field(init=False, repr=False, compare=False)
    _body: Template = field(init=False, repr=False, compare=False)
    _sms: Template = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        sources = (("_subject", self.subject), ("_body", self.body), ("_sms", self.sms_body or self.body))
        for attribute, source in sources:
            used = meta.find_undeclared_variables(_ENV.parse(source))
            undeclared = sorted(used - set(self.variables))
            if undeclared:
                raise ValueError(f"template {self.name!r} uses undeclared variables {undeclared}")
            object.__setattr__(self, attribute, _ENV.from_string(source))
        extra = sorted(set(self.whatsapp_parameters) - set(self.variables))
        if extra:
            raise ValueError(f"template {self.name!r} has WhatsApp parameters that are not variables: {extra}")

    def render_subject(self, values: Mapping[str, str]) -> str:
        return self._subject.render(values).strip()

    def render_body(self, values: Mapping[str, str]) -> str:
        return self._body.render(values).strip()

    def render_sms(self, values: Mapping[str, str]) -> str:
        return self._sms.render(values).strip()


def _templates(*templates: MessageTemplate) -> dict[str, MessageTemplate]:
    return {t.name: t for t in templates}


TEMPLATES: dict[str, MessageTemplate] = _templates(
    MessageTemplate(
        name="acta_sellada",
        variables=("nombre", "titulo", "fecha", "enlace"),
        subject="Su acta «{{ titulo }}» quedó registrada",
        body=(
            "Hola {{ nombre }}, su acta «{{ titulo }}» del {{ fecha }} quedó registrada. "
            "Puede ver su copia aquí: {{ enlace }}"
        ),
        whatsapp_template="acta_sellada",
        whatsapp_parameters=("nombre", "titulo", "fecha", "enlace"),
    ),
    # The same news about an acta whose content only some roles may read
    # (``crm_platform.access.RESTRICTED_CONTENT_READERS``, psychosocial
    # interventions): a family phone or inbox is often shared, so the message never
    # names the acta's type or title, on any channel.
    MessageTemplate(
        name="acta_registrada",
        variables=("nombre", "fecha", "enlace"),
        subject="Se registró un acta de su proceso de acompañamiento",
        body=(
            "Hola {{ nombre }}, se registró un acta de su proceso de acompañamiento del {{ fecha }}. "
            "Puede ver su copia aquí: {{ enlace }}"
        ),
        whatsapp_template="acta_registrada",
        whatsapp_parameters=("nombre", "fecha", "enlace"),
    ),
    MessageTemplate(
        name="recordatorio_reunion",
        variables=("nombre", "fecha", "hora", "lugar", "tema"),
        subject="Recordatorio: reunión del {{ fecha }} a las {{ hora }}",
        body=(
            "Hola {{ nombre }}, le recordamos la reunión sobre {{ tema }} el {{ fecha }} "
            "a las {{ hora }} en {{ lugar }}. ¡Contamos con su participación!"
        ),
        whatsapp_template="recordatorio_reunion",
        whatsapp_parameters=("nombre", "tema", "fecha", "hora", "lugar"),
    ),
    MessageTemplate(
        name="documento_disponible",
        variables=("nombre", "documento", "enlace"),
        subject="Documento disponible: {{ documento }}",
        body=(
            "Hola {{ nombre }}, el documento «{{ documento }}» ya está disponible. Puede consultarlo aquí: {{ enlace }}"
        ),
        whatsapp_template="documento_disponible",
        whatsapp_parameters=("nombre", "documento", "enlace"),
    ),
    # Microcredit messages, to the borrower alone (``handlers_loans``). What the
    # borrower needs to pay and nothing else: no balance, no bucket, no adviser. A
    # family phone is often shared, so the SMS is short and neutral: no "vencida",
    # no "mora", an invitation rather than a warning.
    MessageTemplate(
        name="recordatorio_pago",
        variables=("nombre", "credito", "cuota", "fecha_pago", "valor"),
        subject="Recordatorio de pago: cuota {{ cuota }} de su crédito, {{ fecha_pago }}",
        body=(
            "Hola {{ nombre }}, le recordamos que la cuota {{ cuota }} de su crédito {{ credito }} "
            "vence el {{ fecha_pago }}. Valor de la cuota: {{ valor }}. "
            "Si ya la pagó, no tenga en cuenta este mensaje."
        ),
        sms_body="Hola {{ nombre }}, recuerde su pago del {{ fecha_pago }}: cuota {{ cuota }}, {{ valor }}. Gracias.",
        whatsapp_template="recordatorio_pago",
        whatsapp_parameters=("nombre", "cuota", "credito", "fecha_pago", "valor"),
    ),
    MessageTemplate(
        name="cuota_vencida",
        variables=("nombre", "credito", "dias", "valor"),
        subject="Cuota vencida de su crédito {{ credito }}",
        body=(
            "Hola {{ nombre }}, su crédito {{ credito }} tiene una cuota vencida hace {{ dias }} días. "
            "Valor vencido: {{ valor }}. Si ya pagó, no tenga en cuenta este mensaje; "
            "si necesita un acuerdo de pago, hable con su asesor."
        ),
        sms_body=(
            "Hola {{ nombre }}, tiene un pago pendiente de {{ valor }} desde hace {{ dias }} días. "
            "Si ya pagó, omita este mensaje. Su asesor puede ayudarle."
        ),
        whatsapp_template="cuota_vencida",
        whatsapp_parameters=("nombre", "credito", "dias", "valor"),
    ),
)


def render(
    template: str, channel: ChannelName | str, to: str, message_key: str, variables: Mapping[str, Any]
) -> Outgoing:
    """The message ``template`` filled with ``variables``, ready for ``channel``.

    Phone channels get ``to`` normalised to E.164 (``InvalidPhone``); email needs a
    plausible address (``InvalidAddress``). Raises ``UnknownTemplate``,
    ``MissingVariables`` naming every absent or empty one, or ``MessageTooLong``.
    """
    spec = TEMPLATES.get(template)
    if spec is None:
        raise UnknownTemplate(template)
    channel = ChannelName(channel)
    values = _values(spec, variables)
    address = _address(channel, to)
    try:
        body = spec.render_sms(values) if channel is ChannelName.SMS else spec.render_body(values)
        subject = spec.render_subject(values) if channel is ChannelName.EMAIL else ""
    except UndefinedError:  # pragma: no cover - the variable check above comes first
        raise MissingVariables(spec.name, spec.variables) from None
    parameters: tuple[str, ...] = ()
    if channel is ChannelName.EMAIL:
        body += EMAIL_FOOTER
    elif channel is ChannelName.SMS:
        segments = sms_segments(body)
        if segments > SMS_MAX_SEGMENTS:
            raise MessageTooLong(spec.name, channel, segments, SMS_MAX_SEGMENTS, unit="SMS segments")
    else:
        if len(body) > WHATSAPP_MAX_BODY:
            raise MessageTooLong(spec.name, channel, len(body), WHATSAPP_MAX_BODY)
        parameters = tuple(values[name] for name in spec.whatsapp_parameters)
    return Outgoing(
        message_key=message_key,
        channel=channel,
        to=address,
        template=spec.name,
        language=LANGUAGE,
        subject=subject,
        text=body,
        parameters=parameters,
    )


PER_RECIPIENT = ("nombre",)  # filled in for each recipient when a message is rendered


def check_request(template: str, variables: Mapping[str, Any], per_recipient: Iterable[str] = PER_RECIPIENT) -> None:
    """Refuse a send before anything is queued: ``UnknownTemplate``, or
    ``MissingVariables`` naming each required variable the request lacks, except
    those filled in for each recipient when the message is rendered."""
    spec = TEMPLATES.get(template)
    if spec is None:
        raise UnknownTemplate(template)
    filled = set(per_recipient)
    missing = [name for name in spec.variables if name not in filled and not display(variables.get(name))]
    if missing:
        raise MissingVariables(spec.name, missing)


def whatsapp_template_name(template: str) -> str:
    """The approved WhatsApp template for one of ours (its own name if we have no such template)."""
    spec = TEMPLATES.get(template)
    return spec.whatsapp_template if spec else template


def display(value: Any) -> str:
    """A variable as the reader sees it: dates in Spanish words, whitespace collapsed.

    Whitespace is collapsed because WhatsApp refuses parameters with line breaks,
    tabs or runs of spaces, and a name or title never needs them.
    """
    if isinstance(value, datetime):
        text = f"{spanish_date(value.date())}, {value:%H:%M}"
    elif isinstance(value, date):
        text = spanish_date(value)
    elif isinstance(value, time):
        text = f"{value:%H:%M}"
    else:
        text = "" if value is None else str(value)
    return " ".join(text.split())


_MONTHS = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio",
    "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip


def spanish_date(day: date) -> str:
    """``date(2024, 5, 6)`` -> ``"6 de mayo de 2024"``, whatever the process locale."""
    return f"{day.day} de {_MONTHS[day.month - 1]} de {day.year}"


def short_date(iso: object) -> str:
    """``"2027-01-05"`` -> ``"05/01/2027"`` (dd/mm/aaaa); "" if it is not a date, so
    rendering names the variable as missing rather than inventing one."""
    try:
        day = date.fromisoformat(str(iso).strip()[:10])
    except ValueError:
        return ""
    return f"{day:%d/%m/%Y}"


def pesos(amount: object) -> str:
    """COP as Colombians write it: ``"1234567"`` -> ``"$ 1.234.567"`` (0 decimals,
    rounded half-even; negative as ``"-$ 5.000"``); "" if it is not a finite number."""
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        return ""
    if not value.is_finite():
        return ""
    whole = int(value.quantize(Decimal(1)))
    sign = "-" if whole < 0 else ""
    return f"{sign}$ {abs(whole):,}".replace(",", ".")


# GSM 03.38: the default alphabet, and the extension table whose characters take two septets.
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


def sms_segments(text: str) -> int:
    """How many SMS segments ``text`` takes.

    GSM-7 text: 160 characters in one segment, 153 per segment beyond. Anything
    outside GSM-7 (``á``, ``í``, ``ó``, ``ú``, ``«``) makes the whole message UCS-2:
    70 in one, 67 per segment beyond, counted in UTF-16 units.
    """
    if all(c in _GSM_BASIC or c in _GSM_EXTENSION for c in text):
        units = sum(2 if c in _GSM_EXTENSION else 1 for c in text)
        single, multi = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    if units <= single:
        return 1
    return math.ceil(units / multi)


def _values(spec: MessageTemplate, variables: Mapping[str, Any]) -> dict[str, str]:
    values = {name: display(variables.get(name)) for name in spec.variables}
    missing = [name for name in spec.variables if not values[name]]
    if missing:
        raise MissingVariables(spec.name, missing)
    return values


def _address(channel: ChannelName, to: str) -> str:
    if channel is ChannelName.EMAIL:
        address = (to or "").strip()
        if not _EMAIL.match(address):
            raise InvalidAddress(to, "not an email address")
        return address
    return normalise_phone(to)
