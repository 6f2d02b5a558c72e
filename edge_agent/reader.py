"""The fingerprint reader: a thin wrapper over the unmodified ``pyfingerprint`` library.

It adds what a kiosk needs around the raw commands: waiting for a finger and for
it to be lifted, retrying poor captures and mismatched enrolment scans, and
Spanish prompts for the person at the reader (a :data:`Prompter` shows them).
Matching happens on the sensor: 1:1 against a template uploaded into char
buffer 2, or 1:N against the sensor's own library. Raw images are never read.

pyfingerprint signals every failure with a bare ``Exception``; they are translated
here into :class:`ReaderError` subclasses with a message for the gestor.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

CHAR_BUFFER_1 = 0x01
CHAR_BUFFER_2 = 0x02
DEFAULT_ADDRESS = 0xFFFFFFFF
TEMPLATE_BYTES = 512


class Prompt(StrEnum):
    """What the person at the reader is asked to do, in the words shown to them."""

    PLACE_FINGER = "Coloque el dedo en el lector."
    PLACE_SAME_FINGER_AGAIN = "Coloque el mismo dedo otra vez."
    REMOVE_FINGER = "Retire el dedo del lector."
    POOR_CAPTURE = "No se leyó bien la huella (seca o incompleta). Limpie el dedo y apóyelo de nuevo, bien centrado."
    MESSY_CAPTURE = "La imagen salió borrosa. Limpie el vidrio del lector y apoye el dedo de nuevo, sin moverlo."
    SCANS_DIFFER = "Las dos lecturas no coinciden. Empecemos otra vez con el mismo dedo."

    @property
    def wants_finger(self) -> bool:
        """Whether the reader waits for a finger after this prompt."""
        return self not in (Prompt.REMOVE_FINGER, Prompt.SCANS_DIFFER)


Prompter = Callable[[Prompt], None]


class ReaderError(Exception):
    """The fingerprint reader failed or refused; the message is for the gestor."""


class ReaderUnavailable(ReaderError):
    """The reader cannot be opened, or refuses the configured address or password."""


class NoFinger(ReaderError):
    """No finger was placed (or lifted) within the time allowed."""


class CaptureFailed(ReaderError):
    """No usable capture (or no matching pair of scans) after every attempt."""


class Driver(Protocol):
    """The pyfingerprint methods the kiosk uses (``PyFingerprint`` has them all)."""

    def verifyPassword(self) -> bool: ...
    def readImage(self) -> bool: ...
    def convertImage(self, charBufferNumber: int = ...) -> bool: ...
    def createTemplate(self) -> bool: ...
    def storeTemplate(self, positionNumber: int = ..., charBufferNumber: int = ...) -> int: ...
    def searchTemplate(self) -> tuple[int, int]: ...
    def compareCharacteristics(self) -> int: ...
    def downloadCharacteristics(self, charBufferNumber: int = ...) -> list[int]: ...
    def uploadCharacteristics(self, charBufferNumber: int = ..., characteristicsData: list[int] = ...) -> bool: ...
    def clearDatabase(self) -> bool: ...
    def getTemplateCount(self) -> int: ...
    def getStorageCapacity(self) -> int: ...


@dataclass(frozen=True)
class ReaderConfig:
    """How to reach the reader, and how patient to be with the person using it."""

    port: str
    baud_rate: int = 57600
    address: int = DEFAULT_ADDRESS
    password: int = 0
    # A label for the evidence (e.g. the serial number on the reader's sticker);
    # by default the identity is built from the sensor's address and capacity.
    label: str = ""
    finger_timeout: float = 20.0
    poll_interval: float = 0.05
    max_attempts: int = 3


@dataclass(frozen=True)
class Enrolment:
    """The template built from two captures, and the sensor slot it was stored in (-1: not stored)."""

    template: bytes
    position: int


class FingerprintReader:
    """One open reader. Not thread-safe: one person at the reader at a time."""

    def __init__(self, driver: Driver, config: ReaderConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._driver = driver
        self.config = config
        self._clock = clock
        self._capacity = self._call(driver.getStorageCapacity)

    @classmethod
    def open(cls, config: ReaderConfig) -> FingerprintReader:
        """Open the serial port and verify the sensor's password."""
        from pyfingerprint.pyfingerprint import PyFingerprint

        try:
            driver = PyFingerprint(config.port, config.baud_rate, config.address, config.password)
        except ValueError as exc:
            raise ReaderUnavailable(f"Configuración del lector no válida: {exc}") from None
        except Exception as exc:
            raise ReaderUnavailable(f"No se pudo abrir el lector de huellas en {config.port}: {exc}") from None
        try:
            accepted = driver.verifyPassword()
        except Exception as exc:
            _close(driver)
            if "address" in str(exc):
                raise ReaderUnavailable(
                    f"El lector en {config.port} no responde a la dirección 0x{config.address:08X}; "
                    "revise --sensor-address."
                ) from None
            raise ReaderUnavailable(f"El lector en {config.port} no responde: {exc}") from None
        if not accepted:
            _close(driver)
            raise ReaderUnavailable("El lector rechazó la contraseña configurada; revise --sensor-password.")
        return cls(driver, config)

    def close(self) -> None:
        _close(self._driver)

    def __enter__(self) -> FingerprintReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def identity(self) -> str:
        """A stable name for this sensor, recorded with every fingerprint evidence."""
        if self.config.label:
            return self.config.label
        return f"zfm-{self.config.address:08x}-{self._capacity}"

    # -- use cases ----------------------------------------------------------------------
    def enrol(self, prompt: Prompter, *, store: bool = True) -> Enrolment:
        """Two captures of one finger merged into a template (512 bytes); stored in the
        sensor's library unless ``store`` is False. Mismatched scans start over."""
        for _ in range(self.config.max_attempts):
            self._capture(CHAR_BUFFER_1, prompt, Prompt.PLACE_FINGER)
            self._capture(CHAR_BUFFER_2, prompt, Prompt.PLACE_SAME_FINGER_AGAIN)
            if self._call(self._driver.createTemplate):
                template = bytes(self._call(self._driver.downloadCharacteristics, CHAR_BUFFER_1))
                position = self._call(self._driver.storeTemplate, -1, CHAR_BUFFER_1) if store else -1
                return Enrolment(template, int(position))
            prompt(Prompt.SCANS_DIFFER)
        raise CaptureFailed(
            f"Las dos lecturas no coincidieron en {self.config.max_attempts} intentos; "
            "verifique que sea siempre el mismo dedo."
        )

    def verify_1_1(self, template: bytes, prompt: Prompter) -> int:
        """Score (0 = no match) of a fresh capture against ``template``, compared on the sensor."""
        self._upload(CHAR_BUFFER_2, template)
        self._capture(CHAR_BUFFER_1, prompt, Prompt.PLACE_FINGER)
        return int(self._call(self._driver.compareCharacteristics))

    def identify_1_n(self, prompt: Prompter) -> tuple[int, int]:
        """(slot, score) of the best match in the sensor's library, or (-1, 0) if none."""
        self._capture(CHAR_BUFFER_1, prompt, Prompt.PLACE_FINGER)
        position, score = self._call(self._driver.searchTemplate)
        return (int(position), int(score)) if position >= 0 else (-1, 0)

    def replace_library(self, templates: Sequence[bytes]) -> list[int]:
        """Empty the sensor's library and store ``templates``; their slots, in order."""
        if len(templates) > self._capacity:
            raise ReaderError(f"El lector guarda como máximo {self._capacity} plantillas; hay {len(templates)}.")
        self._call(self._driver.clearDatabase)
        positions = []
        for position, template in enumerate(templates):
            self._upload(CHAR_BUFFER_1, template)
            positions.append(int(self._call(self._driver.storeTemplate, position, CHAR_BUFFER_1)))
        return positions

    def template_count(self) -> int:
        return int(self._call(self._driver.getTemplateCount))

    # -- steps -------------------------------------------------------------------------------
    def _capture(self, buffer: int, prompt: Prompter, first: Prompt) -> None:
        """A usable capture into ``buffer``; a poor or messy one is retried."""
        ask = first
        for _ in range(self.config.max_attempts):
            prompt(ask)
            self._wait_for_finger()
            problem: Prompt | None = None
            try:
                self._driver.convertImage(buffer)
            except Exception as exc:
                problem = _capture_problem(exc)
            prompt(Prompt.REMOVE_FINGER)
            self._wait_for_lift()
            if problem is None:
                return
            ask = problem
        raise CaptureFailed(
            f"No se obtuvo una lectura clara en {self.config.max_attempts} intentos. "
            "Pruebe con otro dedo enrolado o use la firma manuscrita."
        )

    def _wait_for_finger(self) -> None:
        deadline = self._clock() + self.config.finger_timeout
        while not self._call(self._driver.readImage):
            if self._clock() >= deadline:
                raise NoFinger(f"No se detectó ningún dedo en {self.config.finger_timeout:g} s.")
            time.sleep(self.config.poll_interval)

    def _wait_for_lift(self) -> None:
        # The next capture must be a new placement, not the same touch read twice.
        deadline = self._clock() + self.config.finger_timeout
        while self._call(self._driver.readImage):
            if self._clock() >= deadline:
                raise NoFinger(f"El dedo sigue en el lector después de {self.config.finger_timeout:g} s.")
            time.sleep(self.config.poll_interval)

    def _upload(self, buffer: int, template: bytes) -> None:
        if len(template) != TEMPLATE_BYTES:
            raise ReaderError(f"La plantilla debe tener {TEMPLATE_BYTES} bytes, tiene {len(template)}.")
        # pyfingerprint compares its read-back with a list: bytes would always "fail".
        if not self._call(self._driver.uploadCharacteristics, buffer, list(template)):
            raise ReaderError("El lector no aceptó la plantilla enviada.")

    def _call(self, method: Callable[..., Any], *args: Any) -> Any:
        try:
            return method(*args)
        except ReaderError:
            raise
        except Exception as exc:
            raise ReaderError(f"Error de comunicación con el lector de huellas: {exc}") from None


def _capture_problem(exc: Exception) -> Prompt:
    text = str(exc)
    if "too few feature points" in text:
        return Prompt.POOR_CAPTURE
    if "too messy" in text or "image is invalid" in text:
        return Prompt.MESSY_CAPTURE
    raise ReaderError(f"Error de comunicación con el lector de huellas: {text}")


def _close(driver: object) -> None:
    # pyfingerprint only closes its port in __del__; close it now so the port is free.
    port = getattr(driver, "_PyFingerprint__serial", None)
    if port is not None and port.isOpen():
        port.close()
