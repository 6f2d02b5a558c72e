"""The API's description of itself: the OpenAPI document as the API really
answers, and the pages that show it, /docs (Swagger UI) and /redoc.

- Validation errors are answered 400 (``gateway.errors``), so FastAPI's 422 and
  its error schemas are taken out; each route declares its response model and the
  error statuses it sends (``gateway.responses``).
- The pages and their scripts and styles are served by the gateway itself (the
  copies bundled by fastapi-offline), so they work without internet, and they
  have no inline script, so they work under the pages' Content-Security-Policy
  (``gateway.middleware.SecurityHeaders``).
"""

from __future__ import annotations

import html
import inspect
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

VENDOR_DIR = Path(fastapi_offline.__file__).parent / "static"
ASSETS = "/docs/assets"

SWAGGER_INIT = """\
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null
  });
})();
"""


class Route(APIRoute):
    """Every route of the app. A route that answers a dict (``to_json`` of a
    message): a field of its response model that the dict does not have (a
    timestamp not set yet, data the role may not see) stays absent rather than
    becoming null. A route that answers a model instance keeps all its fields."""

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        answer = inspect.signature(endpoint).return_annotation
        if str(answer).startswith("dict"):
            kwargs["response_model_exclude_unset"] = True
        super().__init__(path, endpoint, **kwargs)


def install(app: FastAPI) -> None:
    """Call before any route is added; the app is built with ``docs_url=None``
    and ``redoc_url=None``."""
    app.router.route_class = Route
    app.openapi = lambda: openapi(app)  # type: ignore[method-assign]
    app.mount(ASSETS, StaticFiles(directory=VENDOR_DIR), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return HTMLResponse(
            _page(
                f"{app.title} · Swagger UI",
                root,
                f'<link rel="stylesheet" href="{root}{ASSETS}/swagger-ui.css">',
                f'<div id="swagger-ui" data-openapi-url="{html.escape(root + str(app.openapi_url))}"></div>'
                f'<script src="{root}{ASSETS}/swagger-ui-bundle.js"></script>'
                f'<script src="{root}/docs/swagger-init.js"></script>',
            )
        )

    @app.get("/docs/swagger-init.js", include_in_schema=False)
    def swagger_init() -> Response:
        return Response(SWAGGER_INIT, media_type="text/javascript")

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return HTMLResponse(
            _page(
                f"{app.title} · ReDoc",
                root,
                "",
                f'<redoc spec-url="{html.escape(root + str(app.openapi_url))}"></redoc>'
                f'<script src="{root}{ASSETS}/redoc.standalone.js"></script>',
            )
        )


def _page(title: str, root: str, head: str, body: str) -> str:
    return (
        '<!doctype html><html lang="es"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        f'<link rel="icon" type="image/png" href="{root}{ASSETS}/favicon.png">{head}</head>'
        f"<body>{body}</body></html>"
    )


def openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None and "400" not in responses:
                responses["400"] = {
                    "description": "Solicitud inválida",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
                }
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    app.openapi_schema = schema
    return schema
