"""PAdES signatures on acta PDFs, with pyHanko.

``PdfSigner(key_pem, cert_pem)`` signs with one key and its X.509 certificate:
``sign(pdf)`` appends, as an incremental update, an invisible signature field
holding a CMS signature of subfilter ``ETSI.CAdES.detached`` (PAdES baseline B-B:
SHA-256, the signing-certificate-v2 attribute, no timestamp). Any PDF reader lists
it in its signatures panel; it covers the whole document as rendered, so any later
byte change is detected.

Production supplies its own key and certificate (from the deployment's secrets,
typically issued by a CA the auditors trust). ``development_identity(directory)``
makes a self-signed one for development and tests only: a reader will show its
signatures as intact but of unknown trust.

pyHanko's synchronous API runs its own asyncio loop: call ``sign`` from plain
threads (nameko workers, gRPC handlers), or through ``asyncio.to_thread`` from
async code, never directly inside a running event loop.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import NameOID
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko_certvalidator.registry import SimpleCertificateStore

from services.documents.domain.errors import SigningFailed

SIGNATURE_FIELD = "SelloCRMSocial"
DEFAULT_REASON = "Acta sellada por CRM Social"
DIGEST = "sha256"

DEV_KEY_FILE = "dev-signing-key.pem"
DEV_CERT_FILE = "dev-signing-cert.pem"
DEV_SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.COMMON_NAME, "CRM Social desarrollo"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CRM Social"),
    ]
)
DEV_VALIDITY = timedelta(days=3650)


class PdfSigner:
    """Signs PDFs with one private key and its certificate (PEM), PAdES B-B.

    ``chain`` holds the PEM certificates of the issuing CAs (each item may hold
    several), embedded in every signature so a validator can build the path. The
    key and certificate are checked here: a key that does not match the
    certificate, or unreadable PEM, raises ``SigningFailed`` at construction."""

    def __init__(
        self,
        key_pem: bytes,
        cert_pem: bytes,
        *,
        passphrase: bytes | str | None = None,
        chain: Sequence[bytes] = (),
    ) -> None:
        password = passphrase.encode() if isinstance(passphrase, str) else passphrase
        try:
            key = serialization.load_pem_private_key(key_pem, password=password)
        except (ValueError, TypeError) as exc:
            raise SigningFailed(f"the signing key is not a readable PEM private key ({exc})") from exc
        try:
            certificate = x509.load_pem_x509_certificate(cert_pem)
            chain_certs = [c for pem in chain for c in x509.load_pem_x509_certificates(pem)]
        except ValueError as exc:
            raise SigningFailed(f"a certificate is not readable PEM ({exc})") from exc
        if _public_der(key.public_key()) != _public_der(certificate.public_key()):
            raise SigningFailed(
                f"the signing key does not match the certificate of {certificate.subject.rfc4514_string()}"
            )

        self.certificate = certificate
        # pyHanko takes asn1crypto objects: convert through its public PEM loaders.
        signing_key = load_private_key_from_pemder_data(key_pem, passphrase=password)
        (signing_cert,) = load_certs_from_pemder_data(cert_pem)
        registry = SimpleCertificateStore()
        registry.register_multiple(
            load_certs_from_pemder_data(c.public_bytes(serialization.Encoding.PEM)) for c in chain_certs
        )
        self._signer = signers.SimpleSigner(signing_cert=signing_cert, signing_key=signing_key, cert_registry=registry)
        # Room for the CMS blob, fixed so pyHanko need not sign a dummy first to
        # measure it (that would double the cost): the certificates it embeds plus
        # ample space for a signature and attributes (an RSA-4096 one is 512 bytes).
        # (pyHanko counts hex digits, two per byte, so the figure must be even.)
        certificates = [certificate, *chain_certs]
        embedded = sum(len(c.public_bytes(serialization.Encoding.DER)) for c in certificates)
        self._reserved = 2 * (8192 + embedded)

    @classmethod
    def from_files(
        cls,
        key_path: Path,
        cert_path: Path,
        *,
        passphrase: bytes | str | None = None,
        chain_paths: Sequence[Path] = (),
    ) -> PdfSigner:
        """The signer whose PEM key and certificate are in these files."""
        try:
            key_pem, cert_pem = key_path.read_bytes(), cert_path.read_bytes()
            chain = [p.read_bytes() for p in chain_paths]
        except OSError as exc:
            raise SigningFailed(f"cannot read the signing key or certificate ({exc})") from exc
        return cls(key_pem, cert_pem, passphrase=passphrase, chain=chain)

    def sign(self, pdf: bytes, *, reason: str = DEFAULT_REASON, location: str = "") -> bytes:
        """``pdf`` with a PAdES B-B signature appended; raises ``SigningFailed``."""
        now = datetime.now(UTC)
        cert = self.certificate
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise SigningFailed(
                f"the signing certificate is valid only from {cert.not_valid_before_utc:%Y-%m-%d} "
                f"to {cert.not_valid_after_utc:%Y-%m-%d}"
            )
        metadata = signers.PdfSignatureMetadata(
            field_name=SIGNATURE_FIELD,
            md_algorithm=DIGEST,
            subfilter=SigSeedSubFilter.PADES,
            reason=reason or None,
            location=location or None,
        )
        try:
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
            output = signers.PdfSigner(metadata, signer=self._signer).sign_pdf(writer, bytes_reserved=self._reserved)
        except Exception as exc:  # pyHanko raises many types (malformed PDF, existing field...)
            raise SigningFailed(f"{type(exc).__name__}: {exc}") from exc
        signed: bytes = output.getvalue()
        return signed


def development_identity(directory: Path) -> tuple[Path, Path]:
    """(key path, certificate path) of a self-signed ECDSA P-256 identity
    "CN=CRM Social desarrollo, O=CRM Social" in ``directory``, created on first use
    and reused afterwards. The key file is readable by its owner only (0600).

    For development and tests only: production supplies its own key and
    certificate from its secrets."""
    key_path, cert_path = directory / DEV_KEY_FILE, directory / DEV_CERT_FILE
    if key_path.is_file() and cert_path.is_file():
        return key_path, cert_path
    directory.mkdir(parents=True, exist_ok=True)

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(DEV_SUBJECT)
        .issuer_name(DEV_SUBJECT)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + DEV_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # non-repudiation: what document signatures assert
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_file(key_path, key_pem, 0o600)
    _write_file(cert_path, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
    return key_path, cert_path


def _write_file(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` atomically, the file created with ``mode`` (never
    wider, whatever the umask) before any byte is written."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(fd, mode)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    os.replace(temporary, path)


def _public_der(key: PublicKeyTypes) -> bytes:
    """The DER SubjectPublicKeyInfo of a public key, to compare two keys."""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
