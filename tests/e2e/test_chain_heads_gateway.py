"""Signed chain heads through the gateway, and ``crm-social verify`` as the README
documents it against a running stack: a head published on demand, downloaded
without a login, shown on the public verification page and checked by the
command; the command's defaults find the running stack and its errors are Spanish."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx

from devstack.infra import Stack
from devstack.processes import VENV_BIN
from tests.e2e.test_gateway_actas import household, visit

API = "/api/v1"
STACK_SETTINGS = ("ACTAS_GRPC", "MONGO_URI", "ACTAS_DB", "CRM_ENV", "CRM_DEVSTACK_ENV", "CRM_INTERNAL_SECRET")


def seal(http: httpx.Client, gestor: dict[str, str], community_id: str) -> str:
    family_id, person_id = household(http, gestor, community_id)
    draft = http.post(
        f"{API}/actas",
        headers=gestor,
        json={"template_key": "visita_domiciliaria@1", "values": visit(family_id, person_id)},
    )
    assert draft.status_code == 201, draft.text
    acta_id = str(draft.json()["id"])
    for body in ({"signer_id": person_id, "method": "refused", "refusal_reason": "No firma"}, {"method": "electronic"}):
        assert http.post(f"{API}/actas/{acta_id}/signatures", headers=gestor, json=body).status_code == 200
    assert http.post(f"{API}/actas/{acta_id}/seal", headers=gestor).status_code == 200
    return acta_id


def outside_env(**extra: str) -> dict[str, str]:
    """A shell with none of the stack's settings: what a user has after ``make run``."""
    env = {k: v for k, v in os.environ.items() if k not in STACK_SETTINGS}
    return {**env, **extra}


def crm_social(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "crm-social"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_head_is_published_on_demand_downloaded_publicly_shown_and_checked(
    stack: Stack, http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any], tmp_path: Path
) -> None:
    acta_id = seal(http, as_role["gestor"], community["id"])
    assert http.post(f"{API}/chain/heads", headers=as_role["gestor"]).status_code == 403
    assert http.post(f"{API}/chain/heads").status_code == 401

    published = http.post(f"{API}/chain/heads", headers=as_role["auditor"])
    assert published.status_code in (200, 201), published.text  # 200 if the periodic publisher was first
    again = http.post(f"{API}/chain/heads", headers=as_role["coordinator"])
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["chain_seq"] == published.json()["chain_seq"]

    latest = http.get(f"{API}/chain/heads/latest")  # no login: anyone may keep heads
    assert latest.status_code == 200, latest.text
    head = latest.json()
    assert head["format"] == "crm-social/chain-head/v1" and isinstance(head["chain_seq"], int)
    assert head["signature"] == published.json()["signature"]
    key = http.get(f"{API}/chain/public-key")
    assert key.status_code == 200 and key.json()["key_id"] == head["key_id"]

    page = http.get(f"/verificar/{acta_id}")
    assert page.status_code == 200
    assert f"firmada por el operador: entrada {head['chain_seq']}" in page.text
    assert head["head_hash"][:16] in page.text and "Esta acta está cubierta" in page.text

    kept, key_file = tmp_path / "cabeza.json", tmp_path / "clave.json"
    kept.write_bytes(latest.content)
    key_file.write_bytes(key.content)
    env = outside_env(CRM_DEVSTACK_ENV=str(stack.var_dir / "devstack.env"))
    done = crm_social("verify", "--head", str(kept), "--public-key", str(key_file), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Coincide con la cabeza firmada: entrada {head['chain_seq']}" in done.stdout
    # Without --public-key, the key is asked of the actas service (and it says so).
    done = crm_social("verify", "--head", str(kept), cwd=tmp_path, env=env)
    assert done.returncode == 0 and "pedida al servicio de actas" in done.stderr, done.stdout + done.stderr


def test_the_documented_verify_command_finds_the_running_stack(stack: Stack, tmp_path: Path) -> None:
    """README: ``crm-social verify``, run from the repository while ``make run`` runs."""
    (tmp_path / "var" / "run").mkdir(parents=True)
    shutil.copy(stack.var_dir / "devstack.env", tmp_path / "var" / "run" / "devstack.env")
    done = crm_social("verify", cwd=tmp_path, env=outside_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Cadena íntegra" in done.stdout
    assert f"Usando la configuración del entorno de desarrollo en {tmp_path / 'var' / 'run' / 'devstack.env'}" in (
        done.stderr
    )


def test_verify_errors_say_in_spanish_what_could_not_be_reached(tmp_path: Path) -> None:
    env = outside_env(CRM_DEVSTACK_ENV=str(tmp_path / "none.env"), CRM_ENV="development")
    done = crm_social("verify", "--grpc", "127.0.0.1:9", cwd=tmp_path, env=env)
    assert done.returncode == 2
    assert "No se pudo conectar al servicio de actas en 127.0.0.1:9" in done.stderr, done.stderr
    done = crm_social("verify", "--mongo-uri", "mongodb://auditor:secreta@127.0.0.1:9/", cwd=tmp_path, env=env)
    assert done.returncode == 2
    assert "No se pudo conectar a la base de datos en mongodb://auditor:***@127.0.0.1:9/" in done.stderr, done.stderr
    assert "secreta" not in done.stderr
    done = crm_social("verify", "--head", str(tmp_path / "falta.json"), cwd=tmp_path, env=env)
    assert done.returncode == 2 and "el archivo no existe" in done.stderr, done.stderr
    # Outside development, no stack and no secret: it says which setting is missing.
    done = crm_social("verify", cwd=tmp_path, env=outside_env(CRM_DEVSTACK_ENV=str(tmp_path / "none.env")))
    assert done.returncode == 2 and "falta CRM_INTERNAL_SECRET" in done.stderr, done.stderr
