"""Ad-hoc sends (a meeting reminder to a family or a community) and the queueing
that every trigger shares.

A send is named by its sender's key: the records of user ``ana`` sending with key
``reunion-12`` are ``envio:ana:reunion-12:<recipient>``, and the send's trigger is
``envio:ana:reunion-12``. Keys are therefore per sender: another user's send under
the same key is a different send. The same sender repeating a key with the same
content is a retry (nothing new is queued); with different content it is refused
(``KeyConflict``, a 409), before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm_platform import errors as vocabulary
from services.notifications.domain import errors
from services.notifications.domain.model import Notification
from services.notifications.domain.templates import check_request
from services.notifications.service_layer.ports import Clock, DeliveryLog, Directory

SEND_SCHEME = "envio"
LOAN_SCHEME = "prestamo"  # microcredit messages (``loans``): ``prestamo:<loan id>``
# Triggers a caller names in full; any other trigger asked for is the caller's own key.
FULL_TRIGGER_SCHEMES = ("acta:", f"{SEND_SCHEME}:", f"{LOAN_SCHEME}:")
MAX_KEY = 200


class InvalidRequest(errors.NotificationError, vocabulary.InvalidArgument):
    """A send request is incomplete; ``fields`` names each problem."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        vocabulary.InvalidArgument.__init__(self, fields)


class NotFound(errors.NotificationError, vocabulary.NotFound):
    """No such notification, family or community."""


class KeyConflict(errors.NotificationError, vocabulary.AlreadyExists):
    """The sender already used this key for a message with other content."""


@dataclass(frozen=True)
class Audience:
    """Who an ad-hoc send goes to: exactly one of the three."""

    recipient_ids: tuple[str, ...] = ()
    family_id: str = ""
    community_id: str = ""


@dataclass(frozen=True)
class Queued:
    message_keys: list[str]
    new: int
    trigger: str = ""


def send_trigger(sender: str, key: str) -> str:
    """The trigger (and message-key prefix) of ``sender``'s send named ``key``."""
    return f"{SEND_SCHEME}:{sender}:{key}"


def scoped_trigger(sender: str, trigger: str) -> str:
    """What a ``trigger`` filter means for ``sender``: a full trigger (``acta:…``,
    ``envio:…``, ``prestamo:…``) as given, anything else as the sender's own send key."""
    return trigger if trigger.startswith(FULL_TRIGGER_SCHEMES) else send_trigger(sender, trigger)


class Sends:
    """Mixed into ``NotificationHandlers``, which provides these attributes."""

    log: DeliveryLog
    directory: Directory
    clock: Clock

    def send(self, audience: Audience, template: str, variables: Mapping[str, str], key: str, sender: str) -> Queued:
        """An ad-hoc send: one message per person in the audience. An unknown template,
        a missing variable or a key reused for other content refuses the whole
        request, before anything is queued."""
        problems: dict[str, str] = {}
        key, template = key.strip(), template.strip()
        if not key:
            problems["message_key_prefix"] = "Indique una clave para este envío"
        elif len(key) > MAX_KEY:
            problems["message_key_prefix"] = f"La clave admite hasta {MAX_KEY} caracteres"
        if not template:
            problems["template"] = "Indique la plantilla"
        chosen = sum(bool(x) for x in (audience.recipient_ids, audience.family_id, audience.community_id))
        if chosen != 1:
            problems["audience"] = "Indique destinatarios, un hogar o una comunidad (uno solo)"
        if template:
            try:
                check_request(template, variables)
            except errors.UnknownTemplate:
                problems["template"] = f"No existe la plantilla «{template}»"
            except errors.MissingVariables as exc:
                problems["variables"] = f"Faltan variables de la plantilla: {', '.join(exc.names)}"
        if not sender:
            problems["sender"] = "El envío no identifica a quien lo hace"
        if problems:
            raise InvalidRequest(problems)
        trigger = send_trigger(sender, key)
        self._refuse_other_content(trigger, key, template, variables)
        queued = self._queue(self._audience(audience), template, dict(variables), trigger, trigger)
        return Queued(queued.message_keys, queued.new, trigger)

    def _refuse_other_content(self, trigger: str, key: str, template: str, variables: Mapping[str, str]) -> None:
        # Every record of a send carries the same template and variables (the
        # recipient's name is filled in when rendering), so one record tells.
        earlier = self.log.by_trigger(trigger, 1)
        if earlier and (earlier[0].template, earlier[0].variables) != (template, dict(variables)):
            raise KeyConflict(
                f"Ya hizo un envío con la clave «{key}» y otro contenido; use otra clave para un mensaje distinto"
            )

    def _audience(self, audience: Audience) -> dict[str, None]:
        if audience.recipient_ids:
            return dict.fromkeys(i for i in audience.recipient_ids if i)
        if audience.family_id:
            members = self.directory.family(audience.family_id)
            if members is None:
                raise NotFound(f"No existe el hogar {audience.family_id}")
        else:
            members = self.directory.community(audience.community_id)
            if members is None:
                raise NotFound(f"No existe la comunidad {audience.community_id}")
        return dict.fromkeys(m.recipient_id for m in members)

    def _queue(
        self, recipient_ids: Mapping[str, None], template: str, variables: Mapping[str, Any], prefix: str, trigger: str
    ) -> Queued:
        now: datetime = self.clock.now()
        keys: list[str] = []
        new = 0
        for recipient_id in recipient_ids:
            key = f"{prefix}:{recipient_id}"
            keys.append(key)
            record = Notification(key, recipient_id, template, dict(variables), trigger, now, next_attempt_at=now)
            new += self.log.add(record)
        return Queued(keys, new, trigger)
