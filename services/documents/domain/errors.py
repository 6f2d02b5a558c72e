"""Typed errors of the documents domain. Messages are in English: operators and
logs read them, not gestores (the PDF itself is in Spanish)."""

from __future__ import annotations


class DocumentsError(Exception):
    """Base class of the documents service's errors."""


class RenderFailed(DocumentsError):
    """The PDF of ``acta_id`` could not be rendered; no partial PDF was produced."""

    def __init__(self, acta_id: str, reason: str) -> None:
        self.acta_id = acta_id
        self.reason = reason
        super().__init__(f"could not render the PDF of acta {acta_id!r}: {reason}")


class SigningFailed(DocumentsError):
    """A PDF could not be signed, or the signing key/certificate is unusable."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"could not sign the PDF: {reason}")
