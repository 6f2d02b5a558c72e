"""``python -m devstack run``: start the local stack, seed the demo community,
print the URLs and run until Ctrl-C, then stop everything that was started."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from devstack.infra import ROOT, VENV_BIN, ComponentFailed, Stack, start_stack, wait_for
from devstack.providers.whatsapp import DEV_NOT_ON_WHATSAPP
from devstack.seed import DEMO_PASSWORD, DEMO_USERS, seed


def main() -> int:
    parser = argparse.ArgumentParser(prog="crm-devstack")
    parser.add_argument("command", choices=["run", "demo"])
    parser.add_argument("--var-dir", default=str(ROOT / "var" / "run"))
    parser.add_argument("--gateway-port", type=int, default=int(os.environ.get("HTTP_PORT", "8080")))
    parser.add_argument("--grpc-port", type=int, default=int(os.environ.get("GRPC_PORT", "50051")))
    args = parser.parse_args()
    if args.command == "demo":
        from devstack.demo import main as demo

        return demo()

    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    print("Iniciando la infraestructura local (RabbitMQ, SecantusDB, SeaweedFS) y los servicios…", flush=True)
    try:
        stack = start_stack(
            Path(args.var_dir), isolated_vhost=False, gateway_port=args.gateway_port, grpc_port=args.grpc_port
        )
    except ComponentFailed as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    try:
        admin_password = os.environ.get("GATEWAY_ADMIN_PASSWORD", "admin-dev-password")
        result = seed(stack.urls["gateway"], admin_password)
        print("\nCRM Social está en marcha (modo desarrollo):")
        for name, url in stack.urls.items():
            print(f"  {name:20} {url}")
        print(f"  {'mongodb':20} {stack.env['MONGO_URI']}")
        print(f"  {'s3':20} http://{stack.env['S3_ENDPOINT']}")
        print(f"  {'amqp':20} {stack.env['AMQP_URI']}")
        print(f"\nComunidad de demostración: Nuevo Roche ({result['community_id']})")
        print(f"Usuarios: admin / {admin_password}; " + ", ".join(u for u, _, _ in DEMO_USERS) + f" / {DEMO_PASSWORD}")
        print(f"Registros en {stack.var_dir / 'logs'}; trazas en {stack.var_dir / 'traces'}")
        print(
            "\nNotificaciones: WhatsApp y SMS van a simuladores locales que informan la entrega a "
            f"{stack.urls['gateway']}/webhooks/…; correo a un SMTP local ({stack.env.get('SMTP_HOST', '')}:"
            f"{stack.env.get('SMTP_PORT', '')}). El número {DEV_NOT_ON_WHATSAPP} simula no tener WhatsApp "
            "(el mensaje llega por SMS)."
        )
        _start_kiosk_side(stack, result["community_id"])
        print("\nPulse Ctrl-C para detener todo.", flush=True)
        while not stopping.wait(1):
            dead = [p.name for p in stack.processes if p.proc.poll() is not None]
            if dead:
                print(f"ERROR: terminó inesperadamente: {', '.join(dead)}", file=sys.stderr)
                return 1
        return 0
    finally:
        print("Deteniendo…", flush=True)
        stack.stop()


def _start_kiosk_side(stack: Stack, community_id: str) -> None:
    """Without hardware, a software fingerprint reader on a pty, and a kiosk
    forwarder draining the kiosk's outbox to the bus; prints how to use them."""
    kiosk = stack.var_dir / "kiosk"
    kiosk.mkdir(parents=True, exist_ok=True)
    port, control = kiosk / "sensor", kiosk / "sensor-control.sock"
    sensor = stack.spawn(
        "fingerprint-sensor",
        [str(VENV_BIN / "crm-fingerprint-sensor"), "--symlink", str(port), "--control", str(control)],
    )
    wait_for("lector de huellas simulado", lambda: port.exists() and control.exists(), 20, sensor.log, sensor.proc)
    outbox = kiosk / "outbox.db"
    stack.spawn(
        "kiosk-forwarder",
        [str(VENV_BIN / "crm-kiosk"), "run-forwarder", "--db", str(outbox), "--amqp", stack.env["AMQP_URI"]],
    )
    common = f"--home {kiosk} --db {outbox}"
    print("\nQuiosco de campo (lector de huellas simulado, sin hardware):")
    print(f"  lector         {port}  (control: {control})")
    print(f"  emparejar      crm-kiosk pair {common} --platform {stack.urls['gateway']} \\")
    print(f"                   --device-id kiosco-demo --community-id {community_id} --username gestor1")
    print(f"  sincronizar    crm-kiosk sync {common}")
    print(f"  enrolar/acta   crm-kiosk enrol|acta {common} --port {port}")
    print(f"  poner un dedo  python -m edge_agent.sensor.control {control} press nombre:indice_derecho")
    print(f"  estado         crm-kiosk status --db {outbox}  (el reenviador ya está en marcha)")


if __name__ == "__main__":
    sys.exit(main())
