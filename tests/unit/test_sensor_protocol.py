"""The simulated fingerprint sensor without a pty: packets, protocol rules, fingers and scores."""

from __future__ import annotations

import pytest

from edge_agent.sensor import fingers
from edge_agent.sensor.control import handle_request
from edge_agent.sensor.emulator import SensorConfig, SensorEmulator
from edge_agent.sensor.fingers import Capture, Quality
from edge_agent.sensor.protocol import (
    Confirmation,
    CorruptPacket,
    Instruction,
    Packet,
    PacketDecoder,
    PacketId,
    SystemRegister,
    checksum,
    data_packets,
    encode,
)

HOST = 0xFFFFFFFF


def command(instruction: int, params: bytes = b"", address: int = HOST) -> bytes:
    return encode(address, PacketId.COMMAND, bytes([instruction]) + params)


def replies(sensor: SensorEmulator, data: bytes) -> list[Packet]:
    """Every packet the sensor sends back for ``data``."""
    out: list[Packet] = []
    decoder = PacketDecoder()
    for reply in sensor.feed(data):
        for packet in decoder.feed(reply.data):
            assert isinstance(packet, Packet), "the sensor sent a corrupt packet"
            out.append(packet)
    assert decoder.pending() == 0, "the sensor sent a truncated packet"
    return out


def call(sensor: SensorEmulator, instruction: int, params: bytes = b"") -> tuple[int, bytes]:
    """Send one command to the sensor's address; (confirmation code, values) of its single ack."""
    [answer] = replies(sensor, command(instruction, params, address=sensor.address))
    assert answer.pid == PacketId.ACK
    return answer.payload[0], answer.payload[1:]


def capture(sensor: SensorEmulator, finger: str, buffer: int, quality: str = "good") -> int:
    sensor.press(finger, quality)
    assert call(sensor, Instruction.GEN_IMG)[0] == Confirmation.OK
    sensor.lift()
    return call(sensor, Instruction.IMG2TZ, bytes([buffer]))[0]


def enrol(sensor: SensorEmulator, finger: str, position: int) -> None:
    assert capture(sensor, finger, 1) == Confirmation.OK
    assert capture(sensor, finger, 2) == Confirmation.OK
    assert call(sensor, Instruction.REG_MODEL)[0] == Confirmation.OK
    assert call(sensor, Instruction.STORE, bytes([1]) + position.to_bytes(2, "big"))[0] == Confirmation.OK


# -- packets -----------------------------------------------------------------------


def test_packet_encoding_matches_the_manuals_capture_example() -> None:
    assert command(Instruction.GEN_IMG).hex() == "ef01ffffffff010003010005"
    no_finger = encode(HOST, PacketId.ACK, bytes([Confirmation.NO_FINGER]))
    assert no_finger.hex() == "ef01ffffffff07000302000c"
    assert checksum(PacketId.ACK, b"\x02") == 0x000C


def test_decoder_reassembles_packets_split_anywhere_and_skips_leading_noise() -> None:
    wire = b"\x00\x13" + command(Instruction.VFY_PWD, bytes(4)) + command(Instruction.TEMPLATE_NUM)
    decoder = PacketDecoder()
    packets = [p for i in range(len(wire)) for p in decoder.feed(wire[i : i + 1])]
    assert packets == [
        Packet(HOST, PacketId.COMMAND, bytes([Instruction.VFY_PWD, 0, 0, 0, 0])),
        Packet(HOST, PacketId.COMMAND, bytes([Instruction.TEMPLATE_NUM])),
    ]
    assert decoder.pending() == 0


def test_decoder_flags_a_packet_whose_checksum_is_wrong() -> None:
    packet = bytearray(command(Instruction.GEN_IMG))
    packet[-1] ^= 0xFF
    assert list(PacketDecoder().feed(bytes(packet))) == [CorruptPacket(HOST, PacketId.COMMAND)]


@pytest.mark.parametrize("size", [32, 64, 128, 256])
def test_bulk_data_is_framed_in_packets_of_the_configured_size_ending_with_end_of_data(size: int) -> None:
    data = bytes(range(256)) * 2
    packets = list(PacketDecoder().feed(data_packets(HOST, data, size)))
    assert all(isinstance(p, Packet) for p in packets)
    assert [p.pid for p in packets] == [PacketId.DATA] * (512 // size - 1) + [PacketId.END_OF_DATA]
    assert {len(p.payload) for p in packets if isinstance(p, Packet)} == {size}
    assert b"".join(p.payload for p in packets if isinstance(p, Packet)) == data


# -- protocol rules -------------------------------------------------------------------


def test_a_command_with_a_bad_checksum_is_answered_with_a_packet_error() -> None:
    packet = bytearray(command(Instruction.TEMPLATE_NUM))
    packet[-2] ^= 0x01
    [answer] = replies(SensorEmulator(), bytes(packet))
    assert (answer.pid, answer.payload) == (PacketId.ACK, bytes([Confirmation.PACKET_ERROR]))


def test_a_command_to_another_address_gets_an_address_error_from_the_sensors_address() -> None:
    sensor = SensorEmulator(SensorConfig(address=0x12345678))
    [answer] = replies(sensor, command(Instruction.TEMPLATE_NUM, address=HOST))
    assert answer.address == 0x12345678 and answer.payload[0] == Confirmation.ADDRESS_ERROR


def test_an_unknown_instruction_and_missing_parameters_get_a_packet_error() -> None:
    sensor = SensorEmulator()
    assert call(sensor, 0x7E)[0] == Confirmation.PACKET_ERROR
    assert call(sensor, Instruction.VFY_PWD, b"\x00")[0] == Confirmation.PACKET_ERROR


def test_a_protected_sensor_answers_only_after_the_right_password() -> None:
    sensor = SensorEmulator(SensorConfig(password=0xCAFE0001))
    assert call(sensor, Instruction.TEMPLATE_NUM)[0] == Confirmation.PASSWORD_NOT_VERIFIED
    assert call(sensor, Instruction.VFY_PWD, (0).to_bytes(4, "big"))[0] == Confirmation.WRONG_PASSWORD
    assert call(sensor, Instruction.TEMPLATE_NUM)[0] == Confirmation.PASSWORD_NOT_VERIFIED
    assert call(sensor, Instruction.VFY_PWD, (0xCAFE0001).to_bytes(4, "big"))[0] == Confirmation.OK
    assert call(sensor, Instruction.TEMPLATE_NUM) == (Confirmation.OK, b"\x00\x00")


def test_set_password_changes_what_verification_accepts() -> None:
    sensor = SensorEmulator()
    assert call(sensor, Instruction.SET_PWD, (0x1234).to_bytes(4, "big"))[0] == Confirmation.OK
    assert call(sensor, Instruction.VFY_PWD, (0).to_bytes(4, "big"))[0] == Confirmation.WRONG_PASSWORD
    assert call(sensor, Instruction.VFY_PWD, (0x1234).to_bytes(4, "big"))[0] == Confirmation.OK


def test_set_address_is_acknowledged_from_the_new_address() -> None:
    sensor = SensorEmulator()
    [answer] = replies(sensor, command(Instruction.SET_ADDR, (0x0A0B0C0D).to_bytes(4, "big")))
    assert answer.address == 0x0A0B0C0D and answer.payload[0] == Confirmation.OK
    [answer] = replies(sensor, command(Instruction.TEMPLATE_NUM, address=0x0A0B0C0D))
    assert answer.payload[0] == Confirmation.OK


def test_system_parameters_are_sixteen_bytes_in_the_manuals_order() -> None:
    sensor = SensorEmulator(SensorConfig(address=0x01020304, capacity=162, security_level=4))
    code, values = call(sensor, Instruction.READ_SYS_PARA)
    assert code == Confirmation.OK
    # status, system id, capacity 162, security level, address, packet size code, baud multiplier
    assert values == bytes.fromhex("0000 0000 00a2 0004 01020304 0002 0006")


def test_set_system_parameter_changes_packet_size_and_security_and_refuses_a_bad_register() -> None:
    sensor = SensorEmulator()
    assert call(sensor, Instruction.SET_SYS_PARA, bytes([SystemRegister.PACKET_SIZE, 0]))[0] == Confirmation.OK
    assert call(sensor, Instruction.SET_SYS_PARA, bytes([SystemRegister.SECURITY_LEVEL, 5]))[0] == Confirmation.OK
    assert (sensor.packet_size, sensor.security_level) == (32, 5)
    assert call(sensor, Instruction.SET_SYS_PARA, bytes([9, 1]))[0] == Confirmation.BAD_REGISTER


def test_a_baud_rate_change_is_acknowledged_at_the_old_rate_then_applied() -> None:
    sensor = SensorEmulator()
    [ack] = sensor.feed(command(Instruction.SET_SYS_PARA, bytes([SystemRegister.BAUD_RATE, 12])))
    assert ack.baud_rate == 57600
    [after] = sensor.feed(command(Instruction.TEMPLATE_NUM))
    assert after.baud_rate == 115200 == sensor.baud_rate


def test_template_index_is_a_bitmap_of_256_slots_per_page_least_significant_bit_first() -> None:
    sensor = SensorEmulator()
    for position in (0, 9, 255, 256, 999):
        sensor.library.store(position, bytes(512))
    pages = [call(sensor, Instruction.READ_INDEX_TABLE, bytes([page])) for page in range(4)]
    assert all(code == Confirmation.OK and len(bitmap) == 32 for code, bitmap in pages)
    assert pages[0][1][0] == 0x01 and pages[0][1][1] == 0x02 and pages[0][1][31] == 0x80
    assert pages[1][1][0] == 0x01
    assert pages[3][1][(999 - 768) // 8] == 1 << ((999 - 768) % 8)
    assert call(sensor, Instruction.TEMPLATE_NUM) == (Confirmation.OK, (5).to_bytes(2, "big"))


# -- capture, enrolment, matching -------------------------------------------------------


def test_read_image_without_a_finger_answers_no_finger_and_convert_then_finds_no_image() -> None:
    sensor = SensorEmulator()
    assert call(sensor, Instruction.GEN_IMG)[0] == Confirmation.NO_FINGER
    assert call(sensor, Instruction.IMG2TZ, b"\x01")[0] == Confirmation.NO_VALID_IMAGE


@pytest.mark.parametrize(
    ("quality", "code"), [("poor", Confirmation.TOO_FEW_FEATURES), ("messy", Confirmation.MESSY_IMAGE)]
)
def test_a_bad_capture_fails_conversion(quality: str, code: int) -> None:
    assert capture(SensorEmulator(), "ana:indice_derecho", 1, quality) == code


def test_a_press_for_n_captures_lifts_itself() -> None:
    sensor = SensorEmulator()
    sensor.press("ana:indice_derecho", captures=2)
    assert [call(sensor, Instruction.GEN_IMG)[0] for _ in range(3)] == [0x00, 0x00, Confirmation.NO_FINGER]


def test_two_captures_of_one_finger_score_high_and_different_fingers_score_below_every_threshold() -> None:
    a1, a2 = (fingers.character_file(Capture("ana:indice_derecho", Quality.GOOD, seed)) for seed in (1, 2))
    others = [fingers.character_file(Capture(f"persona{i}:pulgar", Quality.GOOD, 1)) for i in range(50)]
    assert 180 <= fingers.match_score(a1, a2) <= 250
    assert max(fingers.match_score(a1, other) for other in others) < min(fingers.SCORE_THRESHOLDS.values())
    template = fingers.merge(a1, a2)
    a3 = fingers.character_file(Capture("ana:indice_derecho", Quality.GOOD, 3))
    assert fingers.match_score(template, a3) > fingers.match_score(a1, a3)
    assert fingers.match_score(a1, bytes(512)) == 0


def test_compare_scores_the_two_buffers_and_answers_no_match_below_the_threshold() -> None:
    sensor = SensorEmulator()
    capture(sensor, "ana:indice_derecho", 1)
    capture(sensor, "ana:indice_derecho", 2)
    code, score = call(sensor, Instruction.MATCH)
    assert code == Confirmation.OK and int.from_bytes(score, "big") >= sensor.threshold
    capture(sensor, "luis:pulgar_izquierdo", 2)
    code, score = call(sensor, Instruction.MATCH)
    assert code == Confirmation.NO_MATCH and int.from_bytes(score, "big") < sensor.threshold


def test_enrolling_two_different_fingers_is_refused() -> None:
    sensor = SensorEmulator()
    capture(sensor, "ana:indice_derecho", 1)
    capture(sensor, "luis:pulgar_izquierdo", 2)
    assert call(sensor, Instruction.REG_MODEL)[0] == Confirmation.ENROL_MISMATCH


def test_search_finds_the_enrolled_position_with_its_score_or_answers_not_found() -> None:
    sensor = SensorEmulator(SensorConfig(capacity=162))
    enrol(sensor, "luis:pulgar_izquierdo", 3)
    enrol(sensor, "ana:indice_derecho", 161)
    capture(sensor, "ana:indice_derecho", 1)
    code, values = call(sensor, Instruction.SEARCH, bytes([1, 0, 0, 0, 162]))
    assert code == Confirmation.OK and int.from_bytes(values[:2], "big") == 161
    assert int.from_bytes(values[2:], "big") >= sensor.threshold
    assert call(sensor, Instruction.SEARCH, bytes([1, 0, 0, 0, 100]))[0] == Confirmation.NOT_FOUND
    capture(sensor, "marta:medio_derecho", 1)
    assert call(sensor, Instruction.SEARCH, bytes([1, 0, 0, 0, 162])) == (Confirmation.NOT_FOUND, bytes(4))


def test_store_load_and_delete_respect_the_capacity() -> None:
    sensor = SensorEmulator(SensorConfig(capacity=162))
    assert call(sensor, Instruction.STORE, bytes([1, 0, 162]))[0] == Confirmation.BAD_PAGE
    assert call(sensor, Instruction.LOAD_CHAR, bytes([1, 0, 5]))[0] == Confirmation.LOAD_ERROR
    enrol(sensor, "ana:indice_derecho", 5)
    assert call(sensor, Instruction.LOAD_CHAR, bytes([2, 0, 5]))[0] == Confirmation.OK
    assert sensor.char_buffers[2] == sensor.library.load(5)
    assert call(sensor, Instruction.DELETE_CHAR, bytes([0, 160, 0, 3]))[0] == Confirmation.DELETE_FAILED
    assert call(sensor, Instruction.DELETE_CHAR, bytes([0, 5, 0, 1]))[0] == Confirmation.OK
    assert len(sensor.library) == 0
    enrol(sensor, "ana:indice_derecho", 7)
    assert call(sensor, Instruction.EMPTY)[0] == Confirmation.OK and len(sensor.library) == 0


# -- bulk transfers ------------------------------------------------------------------------


@pytest.mark.parametrize("code", [0, 1, 2, 3])
def test_a_character_file_downloads_in_packets_of_the_configured_size(code: int) -> None:
    sensor = SensorEmulator(SensorConfig(packet_size_code=code))
    capture(sensor, "ana:indice_derecho", 1)
    ack, *data = replies(sensor, command(Instruction.UP_CHAR, b"\x01"))
    assert (ack.pid, ack.payload) == (PacketId.ACK, b"\x00")
    size = 32 << code
    assert [len(p.payload) for p in data] == [size] * (512 // size)
    assert [p.pid for p in data][-1] == PacketId.END_OF_DATA
    assert b"".join(p.payload for p in data) == sensor.char_buffers[1]


def test_an_uploaded_character_file_is_stored_verbatim_and_matches_like_a_capture() -> None:
    enrolled = SensorEmulator()
    capture(enrolled, "ana:indice_derecho", 1)
    capture(enrolled, "ana:indice_derecho", 2)
    call(enrolled, Instruction.REG_MODEL)
    template = enrolled.char_buffers[1]

    kiosk = SensorEmulator(SensorConfig(packet_size_code=0))
    assert call(kiosk, Instruction.DOWN_CHAR, b"\x02") == (Confirmation.OK, b"")
    upload = data_packets(HOST, template, 32)
    assert kiosk.feed(upload) == [], "the sensor must not answer data packets"
    assert kiosk.char_buffers[2] == template
    capture(kiosk, "ana:indice_derecho", 1)
    code, score = call(kiosk, Instruction.MATCH)
    assert code == Confirmation.OK
    assert int.from_bytes(score, "big") == fingers.match_score(kiosk.char_buffers[1], template)


def test_a_corrupt_data_packet_abandons_the_upload_silently() -> None:
    sensor = SensorEmulator()
    before = sensor.char_buffers[1]
    call(sensor, Instruction.DOWN_CHAR, b"\x01")
    upload = bytearray(data_packets(HOST, bytes(range(256)) * 2, 128))
    upload[20] ^= 0xFF
    assert sensor.feed(bytes(upload)) == []
    assert sensor.char_buffers[1] == before
    assert call(sensor, Instruction.TEMPLATE_NUM)[0] == Confirmation.OK


def test_the_image_is_256_by_288_pixels_at_4_bits_and_differs_per_finger() -> None:
    sensor = SensorEmulator()
    assert call(sensor, Instruction.UP_IMAGE)[0] == Confirmation.UPLOAD_IMAGE_ERROR
    sensor.press("ana:indice_derecho")
    call(sensor, Instruction.GEN_IMG)
    ack, *data = replies(sensor, command(Instruction.UP_IMAGE))
    image = b"".join(p.payload for p in data)
    assert ack.payload == b"\x00" and len(image) == 256 * 288 // 2 == fingers.IMAGE_BYTES
    assert data[-1].pid == PacketId.END_OF_DATA and all(p.pid == PacketId.DATA for p in data[:-1])
    other = fingers.render_image(Capture("luis:pulgar_izquierdo", Quality.GOOD, 1))
    assert image != other


def test_random_numbers_come_from_the_injected_source() -> None:
    sensor = SensorEmulator(random32=lambda: 0xDEADBEEF)
    assert call(sensor, Instruction.GET_RANDOM_CODE) == (Confirmation.OK, bytes.fromhex("deadbeef"))


# -- control requests -------------------------------------------------------------------------


def test_control_requests_press_and_lift_and_explain_mistakes_in_spanish() -> None:
    sensor = SensorEmulator()
    answer = handle_request(sensor, '{"press": "ana:indice_derecho", "quality": "poor"}')
    assert answer["ok"] and answer["state"]["finger"] == "ana:indice_derecho"
    assert answer["state"]["quality"] == "poor"
    assert handle_request(sensor, '{"lift": true}')["state"]["finger"] is None
    assert "calidad" in handle_request(sensor, '{"press": "x", "quality": "wet"}')["error"]
    assert handle_request(sensor, "no json") == {"ok": False, "error": "JSON no válido"}
    assert not handle_request(sensor, '{"jump": 1}')["ok"]
