"""What the kiosk shows and asks, in Spanish: the screens of ``crm-kiosk``'s commands.

``Screen`` prints with rich and asks the gestor and participants; it knows nothing
of the flows it serves (``edge_agent.kiosk_cli`` and ``edge_agent.kiosk_acta``
decide what happens next). Tables (the community's roster, an acta's signatures)
are drawn from the local store and the draft, read-only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.prompt import Confirm
from rich.prompt import Prompt as Ask
from rich.table import Table

from edge_agent import flows
from edge_agent.acta_flow import ActaDraft
from edge_agent.local_store import LocalStore, TemplateRef
from edge_agent.reader import Prompt
from services.actas.domain.templates import FieldSpec, FieldType

SIGN_METHODS = ("huella", "identificar", "manuscrita", "negativa")
METHOD_NAMES = {
    "huella": "huella, cotejo 1:1",
    "identificar": "huella, identificación 1:N",
    "manuscrita": "firma manuscrita",
    "negativa": "constancia de que no firma",
}
_HINTS = {
    FieldType.DATE: "AAAA-MM-DD o «hoy»",
    FieldType.NUMBER: "número",
    FieldType.GPS_POINT: "lat, lon[, precisión m]",
    FieldType.SIGNATURE_LIST: "identificadores separados por comas",
    FieldType.BENEFICIARY_REF: "identificador de la persona",
    FieldType.FAMILY_REF: "identificador del hogar",
    FieldType.MULTIPLE_CHOICE: "números u opciones separados por comas",
}
_MODES = {"verify_1_1": "cotejo 1:1", "identify_1_n": "identificación 1:N"}


class Screen:
    """Everything the gestor and participants see and answer, in Spanish."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False)

    # -- lines ------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        self.console.print(text)

    def ok(self, text: str) -> None:
        self.console.print(f"[bold green]✔[/] {text}")

    def warn(self, text: str) -> None:
        self.console.print(f"[yellow]![/] {text}")

    def error(self, text: str) -> None:
        self.console.print(f"[bold red]✘ {text}[/]")

    def rule(self, text: str) -> None:
        self.console.rule(text)

    def reader(self, prompt: Prompt) -> None:
        style = "bold cyan" if prompt.wants_finger or prompt is Prompt.REMOVE_FINGER else "yellow"
        self.console.print(f"  [{style}]» {prompt.value}[/]")

    def invalid_values(self, errors: Mapping[str, str]) -> None:
        self.error("El acta tiene datos no válidos:")
        for problem in errors.values():
            self.say(f"  • {problem}")

    # -- questions --------------------------------------------------------------------------
    def ask(self, question: str, default: str | None = None) -> str:
        if default is None:
            return Ask.ask(question, console=self.console, default="", show_default=False)
        return Ask.ask(question, console=self.console, default=default)

    def confirm(self, question: str) -> bool:
        return Confirm.ask(question, console=self.console)

    def choose_template(self, templates: Sequence[Mapping[str, Any]]) -> str:
        """The number or key the gestor typed (the flow resolves it)."""
        for number, template in enumerate(templates, 1):
            self.say(f"  {number}. {template.get('title', '')} ({template['key']})")
        return self.ask("Plantilla (número o clave)", "1")

    def ask_field(self, spec: FieldSpec) -> str:
        """One field's answer as typed, with its options and a hint of the format."""
        if spec.options:
            self.say("  " + "  ".join(f"{n}. {o}" for n, o in enumerate(spec.options, 1)))
        hint = _HINTS.get(spec.type, "")
        return self.ask(f"{spec.label}{' *' if spec.required else ''}{f' ({hint})' if hint else ''}")

    def signature_method(self, enrolled: Sequence[TemplateRef]) -> tuple[str, str]:
        """How a participant signs (and with which finger, when several are enrolled)."""
        if enrolled:
            self.say("  Huellas enroladas: " + ", ".join(flows.FINGER_NAMES[r.finger] for r in enrolled))
        default = "huella" if enrolled else "manuscrita"
        method = Ask.ask("Método de firma", choices=list(SIGN_METHODS), default=default, console=self.console)
        finger = ""
        if method == "huella" and len(enrolled) > 1:
            finger = Ask.ask(
                "Dedo", choices=[r.finger for r in enrolled], default=enrolled[0].finger, console=self.console
            )
        return method, finger

    def gestor_method(self, default: str) -> str:
        return Ask.ask("Método", choices=["huella", "manuscrita"], default=default, console=self.console)

    # -- tables -----------------------------------------------------------------------------
    def roster(self, store: LocalStore) -> None:
        table = Table(title="Personas de la comunidad", show_lines=False)
        for column in ("Identificador", "Nombre", "Documento", "Hogar", "Huellas"):
            table.add_column(column)
        for person in store.roster():
            fingers = ", ".join(flows.FINGER_NAMES[r.finger] for r in store.templates_of(person.id)) or "—"
            table.add_row(person.id, person.full_name, person.national_id, person.family_id, fingers)
        self.console.print(table)

    def signatures(self, store: LocalStore, draft: ActaDraft) -> None:
        table = Table(title=f"Firmas del acta {draft.submission_id}")
        for column in ("Firmante", "Rol", "Método", "Evidencia"):
            table.add_column(column)
        for signature in draft.signatures:
            kind = signature.WhichOneof("method")
            if kind == "fingerprint":
                e = signature.fingerprint
                finger, mode = flows.FINGER_NAMES.get(e.finger, e.finger), _MODES.get(e.mode, e.mode)
                evidence = f"{finger}, puntaje {e.score}, {mode}, sensor {e.sensor_id}"
                method = "huella"
            elif kind == "handwritten":
                evidence, method = f"imagen PNG de {len(signature.handwritten.png)} bytes", "manuscrita"
            else:
                evidence, method = signature.refusal.reason, "no firma"
            table.add_row(name_of(store, signature.signer_id), signature.role, method, evidence)
        self.console.print(table)


def name_of(store: LocalStore, person_id: str) -> str:
    """A person's name from the roster, or their id when they are not on it."""
    person = store.person(person_id)
    return person.full_name if person else person_id
