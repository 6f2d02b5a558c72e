"""The simulated sensor's state machine: bytes from the host in, reply packets out.

Pure (no I/O, no threads, no clocks), so every protocol rule can be unit
tested without a pseudo-terminal. The transport feeds it whatever the host
wrote and writes back the replies it returns.

Choices where the manual leaves room (each keeps pyfingerprint in step, since
it never resynchronises):

* A command packet with a bad checksum is answered with confirmation 01. A
  corrupt data packet during an upload is not answered (the host is not
  reading then): the upload is abandoned and the char buffer is unchanged.
* A command addressed to another address is answered with confirmation 20
  (address error) from the sensor's own address, rather than ignored, so a
  misconfigured kiosk fails at once instead of after pyfingerprint's ~24 s
  of read timeouts. Data/ack packets to another address are ignored.
* Data packets outside an upload, and ack packets from the host, are ignored.
* An unknown instruction, a too-short parameter list, or an out-of-range
  value for a known system register is answered with 01.
* With a non-zero password every instruction but verifyPassword answers 21
  until the password is verified (a zero password needs no verification, as
  on the real module). Verification lasts until a wrong password is tried.
* setAddress is acknowledged from the new address; a baud-rate change is
  acknowledged at the old rate and applies from the next reply.
* readImage with no finger answers 02 and leaves the image buffer invalid, so
  a following convertImage answers 15.
* searchTemplate answers the best-scoring slot (lowest position on a tie) if
  its score reaches the security level's threshold; compareCharacteristics
  answers 08 with the score when below it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from edge_agent.sensor import fingers
from edge_agent.sensor.fingers import Capture, Quality
from edge_agent.sensor.library import INDEX_PAGES, MAX_CAPACITY, TemplateLibrary
from edge_agent.sensor.protocol import (
    DEFAULT_ADDRESS,
    PACKET_SIZES,
    Confirmation,
    CorruptPacket,
    Instruction,
    Packet,
    PacketDecoder,
    PacketId,
    SystemRegister,
    ack,
    data_packets,
)

BAUD_UNIT = 9600
# An upload longer than this is not a character file; it is dropped.
MAX_UPLOAD_BYTES = 4096
# Status register bits (getSystemParameters).
STATUS_MATCHED = 0x02
STATUS_PASSWORD_VERIFIED = 0x04
STATUS_IMAGE_VALID = 0x08


@dataclass(frozen=True)
class SensorConfig:
    """Power-on settings of the simulated module."""

    address: int = DEFAULT_ADDRESS
    password: int = 0
    capacity: int = 1000
    security_level: int = 3
    packet_size_code: int = 2  # 128-byte data packets
    baud_multiplier: int = 6  # 57600 baud
    seed: int = 0  # varies the per-capture noise between runs

    def __post_init__(self) -> None:
        checks = {
            "address": 0 <= self.address <= 0xFFFFFFFF,
            "password": 0 <= self.password <= 0xFFFFFFFF,
            "capacity": 1 <= self.capacity <= MAX_CAPACITY,
            "security_level": 1 <= self.security_level <= 5,
            "packet_size_code": self.packet_size_code in PACKET_SIZES,
            "baud_multiplier": 1 <= self.baud_multiplier <= 12,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid sensor setting(s): {', '.join(bad)}")


class Reply(NamedTuple):
    """Bytes to send to the host, and the baud rate they go out at."""

    data: bytes
    baud_rate: int


@dataclass
class _FingerOnGlass:
    name: str
    quality: Quality
    captures_left: int | None  # None: stays until lifted


@dataclass
class _Upload:
    buffer: int
    data: bytearray


Handler = Callable[[bytes], bytes]


class SensorEmulator:
    """One fingerprint module: flash library, image buffer, two char buffers, settings."""

    def __init__(self, config: SensorConfig | None = None, random32: Callable[[], int] | None = None) -> None:
        config = config or SensorConfig()
        self.address = config.address
        self.security_level = config.security_level
        self.packet_size_code = config.packet_size_code
        self.baud_multiplier = config.baud_multiplier
        self.library = TemplateLibrary(config.capacity)
        self.image: Capture | None = None
        self.char_buffers = {1: bytes(fingers.CHARACTER_FILE_SIZE), 2: bytes(fingers.CHARACTER_FILE_SIZE)}
        self._password = config.password
        self._verified = False
        self._matched = False
        self._seed = config.seed
        self._captures = 0
        self._finger: _FingerOnGlass | None = None
        self._upload: _Upload | None = None
        self._next_baud: int | None = None
        self._random32 = random32 or (lambda: secrets.randbits(32))
        self._decoder = PacketDecoder()
        # Instruction -> (handler, number of parameter bytes it needs).
        self._handlers: dict[int, tuple[Handler, int]] = {
            Instruction.VFY_PWD: (self._verify_password, 4),
            Instruction.SET_PWD: (self._set_password, 4),
            Instruction.SET_ADDR: (self._set_address, 4),
            Instruction.SET_SYS_PARA: (self._set_system_parameter, 2),
            Instruction.READ_SYS_PARA: (self._read_system_parameters, 0),
            Instruction.READ_INDEX_TABLE: (self._read_index_table, 1),
            Instruction.TEMPLATE_NUM: (self._template_count, 0),
            Instruction.GEN_IMG: (self._read_image, 0),
            Instruction.UP_IMAGE: (self._send_image, 0),
            Instruction.IMG2TZ: (self._convert_image, 1),
            Instruction.REG_MODEL: (self._create_template, 0),
            Instruction.STORE: (self._store, 3),
            Instruction.LOAD_CHAR: (self._load, 3),
            Instruction.SEARCH: (self._search, 5),
            Instruction.MATCH: (self._compare, 0),
            Instruction.DELETE_CHAR: (self._delete, 4),
            Instruction.EMPTY: (self._clear, 0),
            Instruction.GET_RANDOM_CODE: (self._random, 0),
            Instruction.UP_CHAR: (self._send_characteristics, 1),
            Instruction.DOWN_CHAR: (self._receive_characteristics, 1),
        }

    # -- settings --------------------------------------------------------------

    @property
    def baud_rate(self) -> int:
        return self.baud_multiplier * BAUD_UNIT

    @property
    def packet_size(self) -> int:
        return PACKET_SIZES[self.packet_size_code]

    @property
    def threshold(self) -> int:
        return fingers.SCORE_THRESHOLDS[self.security_level]

    # -- the finger on the glass (test controls) -------------------------------

    def press(self, finger: str, quality: Quality | str = Quality.GOOD, captures: int | None = None) -> None:
        """Put ``finger`` on the glass; it stays until lifted, or for ``captures`` readImage calls."""
        if not finger:
            raise ValueError("a finger needs a name")
        if captures is not None and captures < 1:
            raise ValueError("captures must be at least 1")
        self._finger = _FingerOnGlass(finger, Quality(quality), captures)

    def lift(self) -> None:
        self._finger = None

    def state(self) -> dict[str, Any]:
        """A JSON-friendly snapshot for the control channel and for tests."""
        finger = self._finger
        return {
            "finger": finger.name if finger else None,
            "quality": finger.quality.value if finger else None,
            "captures_left": finger.captures_left if finger else None,
            "templates": len(self.library),
            "capacity": self.library.capacity,
            "address": f"0x{self.address:08X}",
            "baud_rate": self.baud_rate,
            "packet_size": self.packet_size,
            "security_level": self.security_level,
            "password_required": self._locked,
        }

    # -- the wire ---------------------------------------------------------------

    def feed(self, data: bytes) -> list[Reply]:
        """Bytes from the host; returns the replies to send, in order."""
        replies = []
        for packet in self._decoder.feed(data):
            reply = self._handle(packet)
            if reply:
                replies.append(Reply(reply, self.baud_rate))
            if self._next_baud is not None:
                self.baud_multiplier, self._next_baud = self._next_baud, None
        return replies

    def discard_partial_packet(self) -> bool:
        """Drop the bytes of an unfinished packet; True if there were any."""
        if not self._decoder.pending():
            return False
        self._decoder.discard()
        return True

    @property
    def _locked(self) -> bool:
        return self._password != 0 and not self._verified

    def _ack(self, code: int, values: bytes = b"") -> bytes:
        return ack(self.address, code, values)

    def _handle(self, packet: Packet | CorruptPacket) -> bytes | None:
        if isinstance(packet, CorruptPacket):
            if self._upload is not None:
                self._upload = None
                return None
            return self._ack(Confirmation.PACKET_ERROR)
        if packet.address != self.address:
            return self._ack(Confirmation.ADDRESS_ERROR) if packet.pid == PacketId.COMMAND else None
        if packet.pid in (PacketId.DATA, PacketId.END_OF_DATA):
            self._take_upload_data(packet)
            return None
        if packet.pid != PacketId.COMMAND:
            return None
        self._upload = None  # a command ends an unfinished upload
        if not packet.payload:
            return self._ack(Confirmation.PACKET_ERROR)
        instruction, params = packet.payload[0], packet.payload[1:]
        if self._locked and instruction != Instruction.VFY_PWD:
            return self._ack(Confirmation.PASSWORD_NOT_VERIFIED)
        handler, needed = self._handlers.get(instruction, (None, 0))
        if handler is None or len(params) < needed:
            return self._ack(Confirmation.PACKET_ERROR)
        return handler(params)

    def _take_upload_data(self, packet: Packet) -> None:
        upload = self._upload
        if upload is None:
            return
        upload.data += packet.payload
        if len(upload.data) > MAX_UPLOAD_BYTES:
            self._upload = None
        elif packet.pid == PacketId.END_OF_DATA:
            self.char_buffers[upload.buffer] = bytes(upload.data)
            self._upload = None

    # -- system -----------------------------------------------------------------

    def _verify_password(self, params: bytes) -> bytes:
        self._verified = _u32(params) == self._password
        return self._ack(Confirmation.OK if self._verified else Confirmation.WRONG_PASSWORD)

    def _set_password(self, params: bytes) -> bytes:
        self._password = _u32(params)
        self._verified = True
        return self._ack(Confirmation.OK)

    def _set_address(self, params: bytes) -> bytes:
        self.address = _u32(params)
        return self._ack(Confirmation.OK)

    def _set_system_parameter(self, params: bytes) -> bytes:
        register, value = params[0], params[1]
        if register == SystemRegister.BAUD_RATE and 1 <= value <= 12:
            self._next_baud = value
        elif register == SystemRegister.SECURITY_LEVEL and 1 <= value <= 5:
            self.security_level = value
        elif register == SystemRegister.PACKET_SIZE and value in PACKET_SIZES:
            self.packet_size_code = value
        elif register in tuple(SystemRegister):
            return self._ack(Confirmation.PACKET_ERROR)
        else:
            return self._ack(Confirmation.BAD_REGISTER)
        return self._ack(Confirmation.OK)

    def _read_system_parameters(self, params: bytes) -> bytes:
        status = (
            (STATUS_MATCHED if self._matched else 0)
            | (STATUS_PASSWORD_VERIFIED if self._verified else 0)
            | (STATUS_IMAGE_VALID if self.image else 0)
        )
        system_id = 0
        values = b"".join(
            [
                _be(status, 2),
                _be(system_id, 2),
                _be(self.library.capacity, 2),
                _be(self.security_level, 2),
                _be(self.address, 4),
                _be(self.packet_size_code, 2),
                _be(self.baud_multiplier, 2),
            ]
        )
        return self._ack(Confirmation.OK, values)

    def _random(self, params: bytes) -> bytes:
        return self._ack(Confirmation.OK, _be(self._random32() & 0xFFFFFFFF, 4))

    # -- library ------------------------------------------------------------------

    def _read_index_table(self, params: bytes) -> bytes:
        if params[0] >= INDEX_PAGES:
            return self._ack(Confirmation.PACKET_ERROR)
        return self._ack(Confirmation.OK, self.library.index_page(params[0]))

    def _template_count(self, params: bytes) -> bytes:
        return self._ack(Confirmation.OK, _be(len(self.library), 2))

    def _store(self, params: bytes) -> bytes:
        buffer, position = params[0], _u16(params, 1)
        if buffer not in self.char_buffers:
            return self._ack(Confirmation.PACKET_ERROR)
        if not self.library.valid(position):
            return self._ack(Confirmation.BAD_PAGE)
        self.library.store(position, self.char_buffers[buffer])
        return self._ack(Confirmation.OK)

    def _load(self, params: bytes) -> bytes:
        buffer, position = params[0], _u16(params, 1)
        if buffer not in self.char_buffers:
            return self._ack(Confirmation.PACKET_ERROR)
        if not self.library.valid(position):
            return self._ack(Confirmation.BAD_PAGE)
        template = self.library.load(position)
        if template is None:
            return self._ack(Confirmation.LOAD_ERROR)
        self.char_buffers[buffer] = template
        return self._ack(Confirmation.OK)

    def _delete(self, params: bytes) -> bytes:
        start, count = _u16(params, 0), _u16(params, 2)
        if start >= self.library.capacity or start + count > self.library.capacity:
            return self._ack(Confirmation.DELETE_FAILED)
        self.library.delete(start, count)
        return self._ack(Confirmation.OK)

    def _clear(self, params: bytes) -> bytes:
        self.library.clear()
        return self._ack(Confirmation.OK)

    # -- capture, enrolment and matching ------------------------------------------

    def _read_image(self, params: bytes) -> bytes:
        finger = self._finger
        if finger is None:
            self.image = None
            return self._ack(Confirmation.NO_FINGER)
        self._captures += 1
        self.image = Capture(finger.name, finger.quality, seed=(self._seed << 32) | self._captures)
        if finger.captures_left is not None:
            finger.captures_left -= 1
            if finger.captures_left == 0:
                self._finger = None
        return self._ack(Confirmation.OK)

    def _send_image(self, params: bytes) -> bytes:
        if self.image is None:
            return self._ack(Confirmation.UPLOAD_IMAGE_ERROR)
        image = fingers.render_image(self.image)
        return self._ack(Confirmation.OK) + data_packets(self.address, image, self.packet_size)

    def _convert_image(self, params: bytes) -> bytes:
        buffer = params[0]
        if buffer not in self.char_buffers:
            return self._ack(Confirmation.PACKET_ERROR)
        if self.image is None:
            return self._ack(Confirmation.NO_VALID_IMAGE)
        if self.image.quality is Quality.POOR:
            return self._ack(Confirmation.TOO_FEW_FEATURES)
        if self.image.quality is Quality.MESSY:
            return self._ack(Confirmation.MESSY_IMAGE)
        self.char_buffers[buffer] = fingers.character_file(self.image)
        return self._ack(Confirmation.OK)

    def _create_template(self, params: bytes) -> bytes:
        first, second = self.char_buffers[1], self.char_buffers[2]
        if fingers.match_score(first, second) < self.threshold:
            return self._ack(Confirmation.ENROL_MISMATCH)
        template = fingers.merge(first, second)
        self.char_buffers[1] = self.char_buffers[2] = template
        return self._ack(Confirmation.OK)

    def _compare(self, params: bytes) -> bytes:
        score = fingers.match_score(self.char_buffers[1], self.char_buffers[2])
        self._matched = score >= self.threshold
        return self._ack(Confirmation.OK if self._matched else Confirmation.NO_MATCH, _be(score, 2))

    def _search(self, params: bytes) -> bytes:
        buffer, start, count = params[0], _u16(params, 1), _u16(params, 3)
        if buffer not in self.char_buffers:
            return self._ack(Confirmation.PACKET_ERROR)
        probe = self.char_buffers[buffer]
        best_position, best_score = 0, 0
        for position, template in self.library.occupied(start, count):
            score = fingers.match_score(probe, template)
            if score > best_score:
                best_position, best_score = position, score
        self._matched = best_score >= self.threshold
        if not self._matched:
            return self._ack(Confirmation.NOT_FOUND, bytes(4))
        return self._ack(Confirmation.OK, _be(best_position, 2) + _be(best_score, 2))

    # -- bulk transfers ------------------------------------------------------------

    def _send_characteristics(self, params: bytes) -> bytes:
        buffer = params[0]
        if buffer not in self.char_buffers:
            return self._ack(Confirmation.UPLOAD_CHAR_ERROR)
        return self._ack(Confirmation.OK) + data_packets(self.address, self.char_buffers[buffer], self.packet_size)

    def _receive_characteristics(self, params: bytes) -> bytes:
        buffer = params[0]
        if buffer not in self.char_buffers:
            return self._ack(Confirmation.RECEIVE_DATA_ERROR)
        self._upload = _Upload(buffer, bytearray())
        return self._ack(Confirmation.OK)


def _be(value: int, size: int) -> bytes:
    return value.to_bytes(size, "big")


def _u16(params: bytes, offset: int) -> int:
    return int.from_bytes(params[offset : offset + 2], "big")


def _u32(params: bytes) -> int:
    return int.from_bytes(params[:4], "big")
