"""The reader's UART packet format: constants, encoding, checksum and a stream decoder.

Pure: no I/O. Every packet, in either direction, is big-endian::

    EF 01 | address (4) | packet id (1) | length (2) | payload (length - 2) | checksum (2)

``length`` counts the payload plus the two checksum bytes, and the checksum is
``(packet id + length high + length low + sum(payload)) & 0xFFFF``. A command
payload is an instruction code and its parameters; an acknowledgement payload
is a confirmation code and the values that follow it. Bulk data (images,
character files) travels as data packets of the configured size, the last one
with the end-of-data id.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

HEADER = b"\xef\x01"
DEFAULT_ADDRESS = 0xFFFFFFFF
# Header, address, packet id and length: everything before the payload.
FRAME_PREFIX = 9
# The longest packet the decoder buffers; a larger length field is garbage.
MAX_PACKET_LENGTH = 0x400


class PacketId(IntEnum):
    """The packet identifier byte."""

    COMMAND = 0x01
    DATA = 0x02
    ACK = 0x07
    END_OF_DATA = 0x08


class Instruction(IntEnum):
    """Instruction codes, named as in the manual (pyfingerprint's names in the comments)."""

    GEN_IMG = 0x01  # readImage
    IMG2TZ = 0x02  # convertImage
    MATCH = 0x03  # compareCharacteristics
    SEARCH = 0x04  # searchTemplate
    REG_MODEL = 0x05  # createTemplate
    STORE = 0x06  # storeTemplate
    LOAD_CHAR = 0x07  # loadTemplate
    UP_CHAR = 0x08  # downloadCharacteristics (sensor -> host)
    DOWN_CHAR = 0x09  # uploadCharacteristics (host -> sensor)
    UP_IMAGE = 0x0A  # downloadImage (sensor -> host)
    DELETE_CHAR = 0x0C  # deleteTemplate
    EMPTY = 0x0D  # clearDatabase
    SET_SYS_PARA = 0x0E  # setSystemParameter
    READ_SYS_PARA = 0x0F  # getSystemParameters
    SET_PWD = 0x12  # setPassword
    VFY_PWD = 0x13  # verifyPassword
    GET_RANDOM_CODE = 0x14  # generateRandomNumber
    SET_ADDR = 0x15  # setAddress
    TEMPLATE_NUM = 0x1D  # getTemplateCount
    READ_INDEX_TABLE = 0x1F  # getTemplateIndex


class Confirmation(IntEnum):
    """Confirmation codes: the first payload byte of an acknowledgement."""

    OK = 0x00
    PACKET_ERROR = 0x01
    NO_FINGER = 0x02
    CAPTURE_FAILED = 0x03
    MESSY_IMAGE = 0x06
    TOO_FEW_FEATURES = 0x07
    NO_MATCH = 0x08
    NOT_FOUND = 0x09
    ENROL_MISMATCH = 0x0A
    BAD_PAGE = 0x0B
    LOAD_ERROR = 0x0C
    UPLOAD_CHAR_ERROR = 0x0D
    RECEIVE_DATA_ERROR = 0x0E
    UPLOAD_IMAGE_ERROR = 0x0F
    DELETE_FAILED = 0x10
    CLEAR_FAILED = 0x11
    WRONG_PASSWORD = 0x13
    NO_VALID_IMAGE = 0x15
    FLASH_ERROR = 0x18
    BAD_REGISTER = 0x1A
    ADDRESS_ERROR = 0x20
    PASSWORD_NOT_VERIFIED = 0x21


class SystemRegister(IntEnum):
    """Registers writable with SET_SYS_PARA."""

    BAUD_RATE = 4  # value N: 9600 * N baud
    SECURITY_LEVEL = 5  # 1 (lenient) .. 5 (strict)
    PACKET_SIZE = 6  # code 0..3


# Packet size code (register 6) -> bytes of payload per data packet.
PACKET_SIZES = {0: 32, 1: 64, 2: 128, 3: 256}


@dataclass(frozen=True)
class Packet:
    """One well-formed packet."""

    address: int
    pid: int
    payload: bytes


@dataclass(frozen=True)
class CorruptPacket:
    """A framed packet whose checksum does not match its contents."""

    address: int
    pid: int


def checksum(pid: int, payload: bytes) -> int:
    length = len(payload) + 2
    return (pid + (length >> 8) + (length & 0xFF) + sum(payload)) & 0xFFFF


def encode(address: int, pid: int, payload: bytes) -> bytes:
    length = len(payload) + 2
    return (
        HEADER
        + address.to_bytes(4, "big")
        + bytes([pid])
        + length.to_bytes(2, "big")
        + payload
        + checksum(pid, payload).to_bytes(2, "big")
    )


def ack(address: int, code: int, values: bytes = b"") -> bytes:
    return encode(address, PacketId.ACK, bytes([code]) + values)


def data_packets(address: int, data: bytes, packet_size: int) -> bytes:
    """``data`` as data packets of ``packet_size`` bytes, the last one end-of-data."""
    chunks = [data[i : i + packet_size] for i in range(0, len(data), packet_size)] or [b""]
    last = len(chunks) - 1
    return b"".join(
        encode(address, PacketId.END_OF_DATA if i == last else PacketId.DATA, chunk) for i, chunk in enumerate(chunks)
    )


class PacketDecoder:
    """Turns a byte stream into packets, whatever the chunking.

    Bytes before a header are dropped, so the sensor resynchronises after line
    noise. A length field outside 2..MAX_PACKET_LENGTH means the "header" was
    noise: one byte is dropped and the search goes on.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[Packet | CorruptPacket]:
        self._buffer += data
        while True:
            start = self._buffer.find(HEADER)
            if start < 0:
                # Keep a trailing 0xEF: it may be the first half of a header.
                del self._buffer[: -1 if self._buffer.endswith(HEADER[:1]) else len(self._buffer)]
                return
            del self._buffer[:start]
            if len(self._buffer) < FRAME_PREFIX:
                return
            length = int.from_bytes(self._buffer[7:9], "big")
            if not 2 <= length <= MAX_PACKET_LENGTH:
                del self._buffer[:1]
                continue
            if len(self._buffer) < FRAME_PREFIX + length:
                return
            frame = bytes(self._buffer[: FRAME_PREFIX + length])
            del self._buffer[: FRAME_PREFIX + length]
            yield _parse(frame)

    def pending(self) -> int:
        """Bytes buffered towards an incomplete packet."""
        return len(self._buffer)

    def discard(self) -> None:
        """Forget an incomplete packet (the host went quiet mid-packet)."""
        self._buffer.clear()


def _parse(frame: bytes) -> Packet | CorruptPacket:
    address = int.from_bytes(frame[2:6], "big")
    pid = frame[6]
    payload = frame[FRAME_PREFIX:-2]
    if int.from_bytes(frame[-2:], "big") != checksum(pid, payload):
        return CorruptPacket(address, pid)
    return Packet(address, pid, payload)
