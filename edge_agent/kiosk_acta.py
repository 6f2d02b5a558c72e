"""The interactive steps of ``crm-kiosk acta``: answering the template's fields and
collecting each signature.

Each step calls ``edge_agent.acta_flow`` and asks through a ``Screen``. Values come
from a JSON file or are asked field by field (asking again only the fields that were
wrong); a signature is planned by ``--sign`` flags or asked, and a failed one may be
retried or replaced by another method when someone is at the terminal to answer.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge_agent import acta_flow, flows
from edge_agent.acta_flow import ActaDraft, InvalidValues, NoMatch
from edge_agent.kiosk_screens import METHOD_NAMES, SIGN_METHODS, Screen, name_of
from edge_agent.local_store import LocalStore
from edge_agent.reader import FingerprintReader, ReaderError
from services.actas.domain.templates import FieldType


def choose_template(screen: Screen, store: LocalStore) -> str:
    templates = store.acta_templates()
    if not templates:
        raise flows.FlowError("No hay plantillas en el quiosco; sincronice con conexión (`crm-kiosk sync`).")
    choice = screen.choose_template(templates)
    if choice.isdigit() and 1 <= int(choice) <= len(templates):
        return str(templates[int(choice) - 1]["key"])
    return choice


def read_values(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise flows.FlowError(f"No se pudo leer {path}: {exc}") from None
    if not isinstance(data, dict):
        raise flows.FlowError(f"{path} debe contener un objeto JSON con los valores del acta.")
    return data


def fill_interactively(screen: Screen, store: LocalStore, key: str, gestor_id: str) -> ActaDraft:
    """Ask each field; on invalid values ask again only the fields that were wrong."""
    template = acta_flow.load_template(store, key)
    screen.roster(store)
    answers: dict[str, Any] = {}
    ask = [spec for spec in template.fields if spec.type != FieldType.PHOTO]
    while True:
        for spec in ask:
            while True:
                try:
                    answers[spec.code] = acta_flow.parse_answer(spec, screen.ask_field(spec))
                    break
                except InvalidValues as exc:
                    screen.error(next(iter(exc.errors.values())))
        try:
            return acta_flow.start_acta(store, key, {k: v for k, v in answers.items() if v is not None}, gestor_id)
        except InvalidValues as exc:
            for problem in exc.errors.values():
                screen.error(problem)
            ask = [spec for spec in template.fields if spec.code in exc.errors] or ask


def planned_signatures(specs: list[str], draft: ActaDraft) -> dict[str, tuple[str, str]]:
    """``--sign ID=MÉTODO[:DATO]`` flags as {id: (method, data)}."""
    planned: dict[str, tuple[str, str]] = {}
    for spec in specs:
        signer, _, rest = spec.partition("=")
        method, _, data = rest.partition(":")
        if not signer or method not in SIGN_METHODS:
            raise flows.FlowError(
                f"--sign {spec!r}: use ID=huella[:dedo], identificar, manuscrita:png o negativa:motivo."
            )
        if signer not in draft.signers:
            raise flows.FlowError(f"--sign {spec!r}: {signer} no está entre los firmantes del acta.")
        planned[signer] = (method, data)
    return planned


def collect(
    screen: Screen,
    store: LocalStore,
    draft: ActaDraft,
    signer_id: str,
    planned: tuple[str, str] | None,
    reader: Callable[[], FingerprintReader],
    sensor_id: Callable[[], str],
) -> None:
    """One participant's signature: planned by flags, or asked; a failed fingerprint
    may be retried or replaced by another method when someone is there to answer."""
    if signer_id not in draft.pending():
        return  # already signed, e.g. identified 1:N while another was expected
    name = name_of(store, signer_id)
    screen.rule(f"Firma de [bold]{name}[/] ({signer_id})")
    while True:
        method, data = planned or screen.signature_method(store.templates_of(signer_id))
        try:
            if method == "huella":
                acta_flow.sign_with_fingerprint(
                    store, reader(), draft, signer_id, screen.reader, sensor_id=sensor_id(), finger=data or None
                )
            elif method == "identificar":
                signature = acta_flow.sign_by_identification(
                    store,
                    reader(),
                    draft,
                    screen.reader,
                    sensor_id=sensor_id(),
                    on_reload=lambda n: screen.say(f"Cargando {n} huellas de la comunidad en el lector…"),
                )
                if signature.signer_id != signer_id:
                    screen.ok(f"Huella identificada: firmó {name_of(store, signature.signer_id)}.")
                    continue  # the person expected here has not signed yet
            elif method == "manuscrita":
                acta_flow.sign_handwritten(store, draft, signer_id, png(data or screen.ask("Archivo PNG de la firma")))
            else:
                acta_flow.record_refusal(draft, signer_id, data or screen.ask("Motivo por el que no firma"))
        except (NoMatch, ReaderError, flows.FlowError) as exc:
            if planned is not None or not sys.stdin.isatty():
                raise
            screen.error(str(exc))
            continue
        screen.ok(f"Firma de {name} registrada ({METHOD_NAMES[method]}).")
        return


def collect_gestor(
    screen: Screen,
    store: LocalStore,
    draft: ActaDraft,
    planned: str | None,
    reader: Callable[[], FingerprintReader],
    sensor_id: Callable[[], str],
) -> None:
    """The gestor's signature, last: it closes the acta."""
    screen.rule(f"Firma del gestor [bold]{draft.gestor_id}[/] (al final)")
    while True:
        if planned:
            method, _, data = planned.partition(":")
        else:
            default = "huella" if store.templates_of(draft.gestor_id, acta_flow.OwnerKind.STAFF) else "manuscrita"
            method = screen.gestor_method(default)
            data = ""
        try:
            if method == "huella":
                acta_flow.gestor_signs_with_fingerprint(
                    store, reader(), draft, screen.reader, sensor_id=sensor_id(), finger=data or None
                )
            elif method == "manuscrita":
                image = png(data or screen.ask("Archivo PNG de la firma"))
                acta_flow.sign_handwritten(store, draft, draft.gestor_id, image, role=acta_flow.GESTOR)
            else:
                raise flows.FlowError(f"--gestor-sign {planned!r}: use huella[:dedo] o manuscrita:archivo.png.")
        except (NoMatch, ReaderError, flows.FlowError) as exc:
            if planned or not sys.stdin.isatty():
                raise
            screen.error(str(exc))
            continue
        screen.ok("Firma del gestor registrada: el acta queda cerrada.")
        return


def png(path: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise flows.FlowError(f"No se pudo leer la imagen de la firma {path!r}: {exc.strerror}") from None
