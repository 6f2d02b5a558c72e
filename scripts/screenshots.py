"""The README's screenshots of the staff web app: starts the local stack under a
temporary directory, seeds the demo community (``devstack.seed``), signs in as the
demo coordinator in Debian's chromium and saves each main page, at desktop width
scaled to half and at phone width, as small PNGs in ``docs/screenshots/``.

    .venv/bin/python scripts/screenshots.py      (or: make screenshots)

Regenerate them when a page changes; they are documentation, not test output.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devstack.infra import start_stack  # noqa: E402
from devstack.seed import DEMO_PASSWORD, seed  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 360, "height": 740}


def _save(page: Page, name: str, scale: float) -> None:
    shot: Image.Image = Image.open(io.BytesIO(page.screenshot(full_page=False)))
    if scale != 1:
        shot = shot.resize((int(shot.width * scale), int(shot.height * scale)), Image.Resampling.LANCZOS)
    shot = shot.convert("P", palette=Image.Palette.ADAPTIVE, colors=128)  # small files, still legible
    shot.save(OUT / f"{name}.png", optimize=True)
    print(f"  {name}.png ({(OUT / f'{name}.png').stat().st_size // 1024} KB)")


def _pages(base: str, community_id: str) -> list[tuple[str, str]]:
    return [
        ("inicio", f"{base}/app/"),
        ("actas", f"{base}/app/actas"),
        ("comunidad", f"{base}/app/comunidades/{community_id}"),
        ("quioscos", f"{base}/app/quioscos"),
        ("notificaciones", f"{base}/app/notificaciones"),
    ]


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="crm-screenshots-") as tmp:
        stack = start_stack(Path(tmp), isolated_vhost=True)
        try:
            base = stack.urls["gateway"]
            demo = seed(base, os.environ.get("GATEWAY_ADMIN_PASSWORD", "admin-dev-password"))  # development mode
            chromium = shutil.which("chromium") or "/usr/bin/chromium"
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
                for label, viewport, scale in (("", DESKTOP, 0.5), ("-movil", PHONE, 0.75)):
                    ctx = browser.new_context(viewport=viewport, locale="es-CO")  # type: ignore[arg-type]
                    page = ctx.new_page()
                    page.goto(f"{base}/app/")
                    page.get_by_label("Usuario").fill("coordinadora")
                    page.get_by_label("Contraseña").fill(DEMO_PASSWORD)
                    page.get_by_role("button", name="Entrar").click()
                    page.wait_for_url(f"{base}/app/")
                    pages = _pages(base, demo["community_id"])
                    for name, url in pages if not label else pages[:2]:
                        page.goto(url)
                        page.wait_for_load_state("networkidle")
                        _save(page, f"{name}{label}", scale)
                    ctx.close()
                browser.close()
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
