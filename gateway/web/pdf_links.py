"""Opening a stored PDF (an acta's, a plan's) from a page: a redirect to its
time-limited link, or a Spanish page saying why there is none yet."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from gateway.web.app import Staff, WebApp


def open_pdf(
    web: WebApp, request: Request, staff: Staff, fetch: Callable[[], Any], missing: str, pending: str
) -> Response:
    """``fetch()`` returns the document's record (``status``, ``download_url``); a
    document that does not exist is a 404 page saying ``missing``, one still being
    produced a 202 page saying ``pending``."""
    try:
        document = fetch()
    except grpc.RpcError as exc:
        if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
            return web.render(request, staff, "error.html", status=404, title="PDF no disponible", message=missing)
        raise
    if document.status != "stored" or not document.download_url:
        return web.render(request, staff, "error.html", status=202, title="PDF en preparación", message=pending)
    return RedirectResponse(document.download_url, status_code=303)
