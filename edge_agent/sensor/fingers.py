"""Synthetic fingers: captures, the simulator's character-file format, matching and images.

Pure: no I/O, no clocks, no global randomness; everything is derived from the
finger's name and a per-capture seed, so a test run is reproducible.

A *finger* is a name such as ``"ana:indice_derecho"``. Every finger has a
fixed 1,920-bit *finger code* (SHAKE-256 of its name). A capture of the finger
flips about 4 % of those bits (10/256), chosen by the capture's seed: that is
the per-press noise. Two captures of one finger therefore differ in about 8 %
of their bits, two different fingers in about 50 %.

Character file / template format (512 bytes; the real format is proprietary,
this one only has to be consistent within the simulator)::

    offset size  field
    0      4     magic b"SIMF"
    4      1     format version, 1
    5      1     kind: 1 character file (one capture), 2 template (two merged)
    6      1     capture quality, 0..100 (informational)
    7      1     reserved, 0
    8      8     finger tag: SHA-256(name)[:8]; diagnostics only, matching never reads it
    16     240   feature code: 1,920 bits
    256    240   reliability mask: 1 = bit usable for matching
    496    16    zero padding

A character file marks every bit reliable. ``merge`` (the sensor's
createTemplate) keeps the first capture's code and clears the mask where the
two captures disagree, which is why a template matches a fresh capture a
little better than two captures match each other.

Matching compares only bits reliable in both files: with ``d`` the fraction
of those bits that differ, ``score = round(250 * max(0, 1 - 2 d))``. Same
finger: about 210 (capture vs capture) to 230 (template vs capture).
Different fingers: 0 to about 15. Bytes that are not in this format (a blank
buffer, a real sensor's template) score 0 against anything. The sensor then
applies its security-level threshold (``SCORE_THRESHOLDS``).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from enum import StrEnum

CHARACTER_FILE_SIZE = 512
MAGIC = b"SIMF"
FORMAT_VERSION = 1
KIND_CHARACTER_FILE = 1
KIND_TEMPLATE = 2
CODE_BYTES = 240
CODE_BITS = CODE_BYTES * 8
_CODE_OFFSET = 16
_MASK_OFFSET = _CODE_OFFSET + CODE_BYTES
_ALL_BITS = (1 << CODE_BITS) - 1

# A capture flips a code bit when its noise byte is below this (about 4 %).
NOISE_THRESHOLD = 10
MAX_SCORE = 250
# Fewer usable bits than this and two files cannot be compared (score 0).
MIN_COMPARABLE_BITS = CODE_BITS // 2
# Score a match must reach, by security level (1 lenient .. 5 strict).
SCORE_THRESHOLDS = {1: 30, 2: 40, 3: 50, 4: 65, 5: 80}

IMAGE_WIDTH = 256
IMAGE_HEIGHT = 288
IMAGE_BYTES = IMAGE_WIDTH * IMAGE_HEIGHT // 2


class Quality(StrEnum):
    """How well the finger is placed on the glass."""

    GOOD = "good"
    POOR = "poor"  # dry or partial: convertImage finds too few features (07)
    MESSY = "messy"  # smudged: convertImage reports a messy image (06)


@dataclass(frozen=True)
class Capture:
    """What readImage leaves in the image buffer."""

    finger: str
    quality: Quality
    seed: int


@dataclass(frozen=True)
class Features:
    """A parsed character file or template."""

    kind: int
    quality: int
    tag: bytes
    code: int
    mask: int

    def to_bytes(self) -> bytes:
        header = MAGIC + bytes([FORMAT_VERSION, self.kind, self.quality, 0]) + self.tag
        body = self.code.to_bytes(CODE_BYTES, "big") + self.mask.to_bytes(CODE_BYTES, "big")
        return (header + body).ljust(CHARACTER_FILE_SIZE, b"\0")

    @classmethod
    def parse(cls, data: bytes) -> Features | None:
        """The features in ``data``, or None when it is not a simulator file."""
        if len(data) != CHARACTER_FILE_SIZE or data[:4] != MAGIC or data[4] != FORMAT_VERSION:
            return None
        return cls(
            kind=data[5],
            quality=data[6],
            tag=data[8:16],
            code=int.from_bytes(data[_CODE_OFFSET:_MASK_OFFSET], "big"),
            mask=int.from_bytes(data[_MASK_OFFSET : _MASK_OFFSET + CODE_BYTES], "big"),
        )


def finger_tag(finger: str) -> bytes:
    return hashlib.sha256(finger.encode()).digest()[:8]


def finger_code(finger: str) -> int:
    return int.from_bytes(_stream(b"code", finger, CODE_BYTES), "big")


def character_file(capture: Capture) -> bytes:
    """The character file convertImage extracts from a good capture."""
    noise = _stream(b"noise", f"{capture.finger}\0{capture.seed}", CODE_BITS)
    flips = 0
    for i, value in enumerate(noise):
        if value < NOISE_THRESHOLD:
            flips |= 1 << i
    features = Features(
        kind=KIND_CHARACTER_FILE,
        quality=90,
        tag=finger_tag(capture.finger),
        code=finger_code(capture.finger) ^ flips,
        mask=_ALL_BITS,
    )
    return features.to_bytes()


def match_score(a: bytes, b: bytes) -> int:
    """Similarity of two character files or templates, 0..MAX_SCORE."""
    fa, fb = Features.parse(a), Features.parse(b)
    if fa is None or fb is None:
        return 0
    usable = fa.mask & fb.mask
    compared = usable.bit_count()
    if compared < MIN_COMPARABLE_BITS:
        return 0
    differing = ((fa.code ^ fb.code) & usable).bit_count()
    return round(MAX_SCORE * max(0.0, 1 - 2 * differing / compared))


def merge(a: bytes, b: bytes) -> bytes:
    """Template from two character files of one finger (the caller checks they match)."""
    fa, fb = Features.parse(a), Features.parse(b)
    if fa is None or fb is None:
        raise ValueError("both buffers must hold simulator character files")
    merged = Features(
        kind=KIND_TEMPLATE,
        quality=min(fa.quality, fb.quality),
        tag=fa.tag,
        code=fa.code,
        mask=fa.mask & fb.mask & ~(fa.code ^ fb.code) & _ALL_BITS,
    )
    return merged.to_bytes()


def render_image(capture: Capture) -> bytes:
    """A 256x288 ridge pattern, 4 bits per pixel, two pixels per byte (left pixel high nibble).

    The pattern (centre, ridge period, swirl) comes from the finger's name; the
    capture seed shifts it a little and adds pixel noise. A poor capture is
    faint and partial, a messy one is dominated by noise.
    """
    shape = _stream(b"shape", capture.finger, 6)
    jitter = _stream(b"jitter", f"{capture.finger}\0{capture.seed}", 2)
    noise = _stream(b"pixels", f"{capture.finger}\0{capture.seed}", IMAGE_WIDTH * IMAGE_HEIGHT)
    cx = 108 + shape[0] % 40 + (jitter[0] % 9 - 4)
    cy = 126 + shape[1] % 40 + (jitter[1] % 9 - 4)
    period = 7.0 + shape[2] / 255 * 2.5
    swirl = 0.5 + shape[3] / 255 * 1.5
    lobes = 1 + shape[4] % 3
    stretch = 0.8 + shape[5] / 255 * 0.4
    contrast, noise_amplitude, reach = {
        Quality.GOOD: (7.0, 1, 1.0),
        Quality.POOR: (2.0, 1, 0.55),
        Quality.MESSY: (4.0, 6, 1.0),
    }[capture.quality]

    pixels = bytearray(IMAGE_WIDTH * IMAGE_HEIGHT)
    for y in range(IMAGE_HEIGHT):
        for x in range(IMAGE_WIDTH):
            i = y * IMAGE_WIDTH + x
            # The fingertip is an ellipse; outside it the glass reads white.
            ex, ey = (x - 128) / (110 * reach), (y - 150) / (135 * reach)
            if ex * ex + ey * ey > 1:
                pixels[i] = 15
                continue
            dx, dy = x - cx, (y - cy) * stretch
            radius = math.hypot(dx, dy)
            phase = 2 * math.pi * radius / period + swirl * math.sin(lobes * math.atan2(dy, dx))
            level = 7.5 + contrast * math.sin(phase) + (noise[i] % (2 * noise_amplitude + 1) - noise_amplitude)
            pixels[i] = min(15, max(0, round(level)))
    return bytes((pixels[i] << 4) | pixels[i + 1] for i in range(0, len(pixels), 2))


def _stream(label: bytes, text: str, size: int) -> bytes:
    return hashlib.shake_256(b"crm-sim-finger\0" + label + b"\0" + text.encode()).digest(size)
