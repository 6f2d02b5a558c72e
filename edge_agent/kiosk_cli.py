"""``crm-kiosk pair | sync | enrol | acta``: the gestor's commands on the field kiosk.

Entry point only: it gathers input (flags, or questions in Spanish), opens the
store, reader and platform client, calls ``edge_agent.flows`` /
``edge_agent.acta_flow`` and shows the outcome. What the gestor sees and answers is
in ``edge_agent.kiosk_screens``; the field-by-field and signer-by-signer steps of
``acta`` are in ``edge_agent.kiosk_acta``. ``register`` adds the subcommands to
``crm-kiosk``'s parser.

    crm-kiosk pair --platform URL --device-id ID [--code CÓDIGO] [--location LAT,LON[,M]]
                   (the one-time code a coordinator issued; asked for when not given)
    crm-kiosk sync
    crm-kiosk enrol --beneficiary ID --finger right_index [--consent]   (needs connection)
    crm-kiosk enrol --gestor-finger right_index --gestor USUARIO        (gestor's own finger, local)
    crm-kiosk acta --template visita_domiciliaria@1 [--values respuestas.json]
                   [--sign ID=huella[:dedo] | ID=identificar | ID=manuscrita:firma.png | ID=negativa:motivo]...
                   [--gestor-sign huella[:dedo] | manuscrita:firma.png]

Settings (flags override the environment): ``--home`` or ``CRM_KIOSK_HOME`` (data
directory, default ``var/kiosk``); ``--db`` or ``CRM_KIOSK_OUTBOX`` (outbox);
``--platform`` or ``CRM_PLATFORM_URL``; ``--port`` or ``CRM_SENSOR_PORT``;
``--sensor-password`` or ``CRM_SENSOR_PASSWORD``.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from crm_platform.config import setting
from edge_agent import acta_flow, flows, kiosk_acta
from edge_agent.acta_flow import InvalidValues
from edge_agent.http_client import PlatformClient, PlatformError
from edge_agent.keys import KeyFileError
from edge_agent.kiosk_screens import Screen
from edge_agent.local_store import LocalStore, StoreError
from edge_agent.reader import FingerprintReader, ReaderConfig, ReaderError
from services.actas.domain.model import FINGERS

DEFAULT_PLATFORM = "http://127.0.0.1:8000"
DEFAULT_PORT = "/dev/ttyS0"
EXPECTED = (flows.FlowError, PlatformError, ReaderError, StoreError, KeyFileError)


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser | None = None) -> None:
    """Add ``pair``, ``sync``, ``enrol`` and ``acta``. ``common`` is crm-kiosk's shared
    parent parser (it defines ``--db``); without it the outbox flag is added here."""
    kiosk = _kiosk_options(with_db=common is None)
    parents = [kiosk] if common is None else [common, kiosk]
    sensor = _sensor_options()

    pair = subparsers.add_parser("pair", parents=parents, help="emparejar el quiosco con la plataforma")
    pair.add_argument("--platform", default=setting("CRM_PLATFORM_URL", DEFAULT_PLATFORM), help="URL de la API")
    pair.add_argument("--device-id", required=True, help="identificador del quiosco, p. ej. kiosco-roche-01")
    pair.add_argument(
        "--code", default="", help="código de emparejamiento que emitió el coordinador (se pregunta si falta)"
    )
    pair.add_argument("--description", default="", help="descripción (lugar, responsable)")
    pair.add_argument("--location", help="ubicación del quiosco: LAT,LON[,PRECISIÓN_M]")
    pair.set_defaults(handler=_pair)

    sync = subparsers.add_parser("sync", parents=parents, help="descargar plantillas y la lista de la comunidad")
    sync.add_argument("--platform", help="URL de la API (por defecto, la del emparejamiento)")
    sync.set_defaults(handler=_sync)

    enrol = subparsers.add_parser("enrol", parents=[*parents, sensor], help="enrolar una huella (con conexión)")
    who = enrol.add_mutually_exclusive_group(required=True)
    who.add_argument("--beneficiary", help="identificador de la persona a enrolar")
    who.add_argument("--gestor-finger", choices=sorted(FINGERS), help="enrolar un dedo del gestor en este quiosco")
    enrol.add_argument("--finger", choices=sorted(FINGERS), help="dedo a enrolar, p. ej. right_index")
    enrol.add_argument("--consent", action="store_true", help="la persona dio su consentimiento biométrico")
    enrol.add_argument("--gestor", help="usuario del gestor (para --gestor-finger)")
    enrol.add_argument("--platform", help="URL de la API (por defecto, la del emparejamiento)")
    _credentials(enrol)
    enrol.set_defaults(handler=_enrol)

    acta = subparsers.add_parser("acta", parents=[*parents, sensor], help="llenar y firmar un acta (sin conexión)")
    acta.add_argument("--template", help="plantilla, p. ej. visita_domiciliaria@1")
    acta.add_argument("--values", type=Path, help="archivo JSON con los valores del acta")
    acta.add_argument("--gestor", help="usuario del gestor que captura el acta")
    acta.add_argument(
        "--sign",
        action="append",
        default=[],
        metavar="ID=MÉTODO[:DATO]",
        help="firma de un participante: huella[:dedo], identificar, manuscrita:archivo.png o negativa:motivo",
    )
    acta.add_argument("--gestor-sign", metavar="MÉTODO[:DATO]", help="firma del gestor: huella[:dedo] o manuscrita:png")
    acta.set_defaults(handler=_acta)


# -- option groups --------------------------------------------------------------------------
def _kiosk_options(with_db: bool) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    home = Path(setting("CRM_KIOSK_HOME", "var/kiosk"))
    parser.add_argument("--home", type=Path, default=home, help="directorio de datos del quiosco (CRM_KIOSK_HOME)")
    if with_db:
        outbox = Path(setting("CRM_KIOSK_OUTBOX", str(home / "outbox.sqlite3")))
        parser.add_argument("--db", type=Path, default=outbox, help="bandeja de salida (CRM_KIOSK_OUTBOX)")
    return parser


def _sensor_options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("lector de huellas")
    group.add_argument("--port", default=setting("CRM_SENSOR_PORT", DEFAULT_PORT), help="puerto serie del lector")
    group.add_argument("--baud", type=int, default=57600, help="velocidad en baudios (por defecto 57600)")
    group.add_argument("--sensor-address", type=_hex, default=0xFFFFFFFF, help="dirección del lector (hex)")
    group.add_argument(
        "--sensor-password", type=_hex, default=_hex(setting("CRM_SENSOR_PASSWORD", "0")), help="contraseña (hex)"
    )
    group.add_argument("--sensor-label", default="", help="identidad del lector para la evidencia (p. ej. su serie)")
    group.add_argument("--finger-timeout", type=float, default=20.0, help="segundos de espera del dedo")
    return parser


def _credentials(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--username", help="usuario del gestor en la plataforma")
    parser.add_argument("--password-stdin", action="store_true", help="leer la contraseña de la entrada estándar")


def _hex(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"número no válido: {text!r} (use p. ej. 0x1234)") from None


def _run(args: argparse.Namespace, body: Callable[[Screen], int]) -> int:
    screen = Screen()
    try:
        return body(screen)
    except InvalidValues as exc:
        screen.invalid_values(exc.errors)
        return 1
    except EXPECTED as exc:
        screen.error(str(exc))
        return 1
    except KeyboardInterrupt:
        screen.error("Cancelado: no se guardó nada de esta operación.")
        return 130


@contextlib.contextmanager
def _store(args: argparse.Namespace) -> Iterator[LocalStore]:
    with LocalStore(args.home) as store:
        yield store


def _platform_url(args: argparse.Namespace, store: LocalStore) -> str:
    pairing = store.pairing()
    url = args.platform or (pairing.platform_url if pairing else "") or setting("CRM_PLATFORM_URL", DEFAULT_PLATFORM)
    return str(url)


def _password(args: argparse.Namespace, screen: Screen) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass("Contraseña: ")


def _login(args: argparse.Namespace, screen: Screen, client: PlatformClient, default_user: str | None) -> Any:
    username = args.username or screen.ask("Usuario del gestor", default_user)
    return client.login(username, _password(args, screen))


# -- pair ------------------------------------------------------------------------------------
def _pair(args: argparse.Namespace) -> int:
    def body(screen: Screen) -> int:
        location = _location(args.location) if args.location else None
        code = args.code or screen.ask("Código de emparejamiento (se lo da el coordinador, p. ej. ABCD-EFGH)")
        with _store(args) as store, PlatformClient(args.platform) as client:
            result = flows.pair(
                client,
                store,
                platform_url=args.platform,
                code=code,
                device_id=args.device_id,
                description=args.description,
            )
            if location is not None:
                store.set_location(location)
        again = " (ya estaba emparejado)" if result.already_registered else ""
        screen.ok(f"Quiosco [bold]{result.device_id}[/] emparejado con la comunidad {result.community_id}{again}.")
        screen.say(f"  Clave pública del dispositivo: {result.public_key_b64}")
        screen.say("  Siguiente paso: `crm-kiosk sync` para descargar plantillas y la lista de la comunidad.")
        return 0

    return _run(args, body)


def _location(text: str) -> tuple[float, float, float]:
    try:
        numbers = [float(p) for p in text.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) not in (2, 3) or not (-90 <= numbers[0] <= 90 and -180 <= numbers[1] <= 180):
        raise flows.FlowError("Ubicación no válida: use LAT,LON o LAT,LON,PRECISIÓN_M (p. ej. 11.0041,-72.9251,15).")
    return numbers[0], numbers[1], numbers[2] if len(numbers) == 3 else 0.0


# -- sync ------------------------------------------------------------------------------------
def _sync(args: argparse.Namespace) -> int:
    def body(screen: Screen) -> int:
        with (
            _store(args) as store,
            PlatformClient(_platform_url(args, store)) as client,
            screen.console.status("Sincronizando…") as status,
        ):
            report = flows.sync_down(client, store, step=lambda text: status.update(f"{text}…"))
        _record_sync_in_outbox(args.db, report.synced_at.timestamp())
        screen.ok(
            f"Sincronizado: {report.templates} plantillas, {report.people} personas, "
            f"{report.fingerprints} huellas enroladas (guardadas cifradas)."
        )
        for problem in report.problems:
            screen.warn(problem)
        return 0

    return _run(args, body)


def _record_sync_in_outbox(db: Path, when: float) -> None:
    """``crm-kiosk status`` shows the last sync from the outbox's bookkeeping."""
    from edge_agent.outbox import Outbox

    with Outbox(db) as outbox:
        outbox.set_last_sync(when)


# -- enrol ------------------------------------------------------------------------------------
def _enrol(args: argparse.Namespace) -> int:
    def body(screen: Screen) -> int:
        with _store(args) as store:
            if args.gestor_finger:
                return _enrol_gestor(args, screen, store)
            if not args.finger:
                raise flows.FlowError("Indique el dedo con --finger (p. ej. right_index).")
            person = store.person(args.beneficiary)
            if person is None:
                raise flows.FlowError(f"{args.beneficiary} no está en la lista de esta comunidad; sincronice primero.")
            finger_name = flows.FINGER_NAMES[args.finger]
            screen.say(f"Enrolamiento de [bold]{person.full_name}[/] ({person.national_id}), dedo {finger_name}.")
            consent = args.consent or screen.confirm(
                "¿La persona autoriza, de forma expresa e informada, el tratamiento de sus datos biométricos?"
            )
            with PlatformClient(_platform_url(args, store)) as client:
                gestor = _login(args, screen, client, store.setting("gestor"))
                with _open_reader(args) as reader:
                    result = flows.enrol_beneficiary(
                        client,
                        store,
                        reader,
                        gestor=gestor,
                        beneficiary_id=person.id,
                        finger=args.finger,
                        consent_given=consent,
                        prompt=screen.reader,
                    )
        screen.ok(f"Huella de {person.full_name} ({finger_name}) enrolada y enviada a la plataforma.")
        screen.say(f"  Huella (sha256): {result.template_sha256}")
        return 0

    return _run(args, body)


def _enrol_gestor(args: argparse.Namespace, screen: Screen, store: LocalStore) -> int:
    username = args.gestor or store.setting("gestor") or screen.ask("Usuario del gestor")
    with _open_reader(args) as reader:
        flows.enrol_gestor(store, reader, username=username, finger=args.gestor_finger, prompt=screen.reader)
    screen.ok(f"Huella del gestor {username} ({flows.FINGER_NAMES[args.gestor_finger]}) guardada en este quiosco.")
    return 0


@contextlib.contextmanager
def _open_reader(args: argparse.Namespace) -> Iterator[FingerprintReader]:
    config = ReaderConfig(
        port=args.port,
        baud_rate=args.baud,
        address=args.sensor_address,
        password=args.sensor_password,
        label=args.sensor_label,
        finger_timeout=args.finger_timeout,
    )
    with FingerprintReader.open(config) as reader:
        yield reader


# -- acta ----------------------------------------------------------------------------------------
def _acta(args: argparse.Namespace) -> int:
    def body(screen: Screen) -> int:
        with _store(args) as store, contextlib.ExitStack() as stack:
            pairing, _ = flows.require_pairing(store)
            gestor_id = args.gestor or store.setting("gestor") or screen.ask("Usuario del gestor")
            template_key = args.template or kiosk_acta.choose_template(screen, store)
            template = acta_flow.load_template(store, template_key)
            screen.rule(f"[bold]{template.title}[/] ({template.key})")
            if args.values:
                answers = kiosk_acta.read_values(args.values)
                draft = acta_flow.start_acta(store, template.key, answers, gestor_id)
            else:
                draft = kiosk_acta.fill_interactively(screen, store, template.key, gestor_id)
            screen.say(f"Identificador del acta (clave de idempotencia): {draft.submission_id}")

            readers: list[FingerprintReader] = []

            def reader() -> FingerprintReader:
                if not readers:
                    readers.append(stack.enter_context(_open_reader(args)))
                return readers[0]

            def sensor_id() -> str:
                return f"{pairing.device_id}/{reader().identity}"

            planned = kiosk_acta.planned_signatures(args.sign, draft)
            for signer_id in draft.signers:
                kiosk_acta.collect(screen, store, draft, signer_id, planned.get(signer_id), reader, sensor_id)
            kiosk_acta.collect_gestor(screen, store, draft, args.gestor_sign, reader, sensor_id)

            from edge_agent.outbox import Outbox

            with Outbox(args.db) as outbox:
                submission_id = acta_flow.finish_acta(store, outbox, draft)
            screen.signatures(store, draft)
        screen.ok(f"Acta firmada y guardada en la bandeja de salida ({submission_id}); se enviará al haber conexión.")
        return 0

    return _run(args, body)
