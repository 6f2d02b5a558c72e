"""The simulated fingerprint sensor driven by the real, unmodified pyfingerprint 1.5 over a pty.

No RabbitMQ or databases: these tests never request the ``stack`` fixture.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import serial
from PIL import Image
from pyfingerprint.pyfingerprint import PyFingerprint

from edge_agent.sensor import PtySensor, SensorConfig, SensorControl
from edge_agent.sensor.protocol import Instruction, PacketId, encode

ANA = "ana:indice_derecho"
LUIS = "luis:pulgar_izquierdo"
PASSWORD = 0x5EC12E7


@pytest.fixture
def sensor() -> Iterator[PtySensor]:
    with PtySensor() as running:
        yield running


def connect(sensor: PtySensor | str, password: int = 0, address: int = 0xFFFFFFFF) -> Any:
    port = sensor.port if isinstance(sensor, PtySensor) else sensor
    return PyFingerprint(port, 57600, address, password)


def capture(reader: Any, sensor: PtySensor, finger: str, buffer: int, quality: str = "good") -> None:
    sensor.press(finger, quality)
    assert reader.readImage()
    sensor.lift()
    assert reader.convertImage(buffer)


def enrol(reader: Any, sensor: PtySensor, finger: str, position: int = -1) -> int:
    capture(reader, sensor, finger, 0x01)
    capture(reader, sensor, finger, 0x02)
    assert reader.createTemplate()
    stored: int = reader.storeTemplate(position)
    return stored


def test_pyfingerprint_connects_and_reads_the_system_parameters(sensor: PtySensor) -> None:
    reader = connect(sensor)
    assert reader.verifyPassword()
    assert reader.getStorageCapacity() == 1000
    assert reader.getSecurityLevel() == 3
    assert reader.getMaxPacketSize() == 128
    assert reader.getBaudRate() == 57600


def test_a_protected_sensor_refuses_the_wrong_password_and_accepts_the_right_one() -> None:
    with PtySensor(SensorConfig(password=PASSWORD)) as sensor:
        intruder = connect(sensor, password=0)
        assert intruder.verifyPassword() is False
        with pytest.raises(Exception, match="0x21"):
            intruder.getTemplateCount()
        del intruder
        reader = connect(sensor, password=PASSWORD)
        assert reader.verifyPassword() is True
        assert reader.getTemplateCount() == 0


def test_a_reader_configured_for_another_address_is_told_at_once(sensor: PtySensor) -> None:
    started = time.monotonic()
    with pytest.raises(Exception, match="address is wrong"):
        connect(sensor, address=0x00000001).verifyPassword()
    assert time.monotonic() - started < 2, "answered, not left to pyfingerprint's ~24 s of timeouts"


def test_enrolment_then_identification_finds_the_stored_position(sensor: PtySensor) -> None:
    reader = connect(sensor)
    assert reader.verifyPassword()
    enrol(reader, sensor, LUIS)
    position = enrol(reader, sensor, ANA)
    assert position == 1
    capture(reader, sensor, ANA, 0x01)
    found, score = reader.searchTemplate()
    assert found == position and score >= 50


def test_verification_against_a_template_uploaded_from_the_platform(tmp_path: Path) -> None:
    with PtySensor() as enrolment_kiosk:
        reader = connect(enrolment_kiosk)
        enrol(reader, enrolment_kiosk, ANA)
        template = reader.downloadCharacteristics(0x01)
        del reader
    assert len(template) == 512 and all(isinstance(b, int) for b in template)

    # Another device: its own capture noise.
    with PtySensor(SensorConfig(seed=7)) as kiosk:
        reader = connect(kiosk)
        assert reader.verifyPassword()
        assert reader.uploadCharacteristics(0x02, list(template)) is True
        capture(reader, kiosk, ANA, 0x01)
        assert reader.compareCharacteristics() >= 50

        capture(reader, kiosk, LUIS, 0x01)
        assert reader.compareCharacteristics() == 0


def test_a_different_finger_is_not_identified(sensor: PtySensor) -> None:
    reader = connect(sensor)
    enrol(reader, sensor, ANA)
    capture(reader, sensor, LUIS, 0x01)
    assert reader.searchTemplate() == (-1, -1)


def test_enrolling_with_two_different_fingers_is_refused(sensor: PtySensor) -> None:
    reader = connect(sensor)
    capture(reader, sensor, ANA, 0x01)
    capture(reader, sensor, LUIS, 0x02)
    assert reader.createTemplate() is False


def test_a_poor_capture_fails_and_a_retry_with_a_good_press_succeeds(sensor: PtySensor) -> None:
    reader = connect(sensor)
    sensor.press(ANA, "poor")
    assert reader.readImage()
    with pytest.raises(Exception, match="too few feature points"):
        reader.convertImage(0x01)
    sensor.press(ANA, "messy")
    assert reader.readImage()
    with pytest.raises(Exception, match="too messy"):
        reader.convertImage(0x01)
    sensor.press(ANA, "good")
    assert reader.readImage()
    assert reader.convertImage(0x01)


def test_no_finger_on_the_glass_reads_no_image(sensor: PtySensor) -> None:
    reader = connect(sensor)
    assert reader.readImage() is False
    sensor.press(ANA, captures=1)
    assert reader.readImage() is True
    assert reader.readImage() is False


def test_template_count_and_index_follow_store_delete_and_clear(sensor: PtySensor) -> None:
    reader = connect(sensor)
    enrol(reader, sensor, ANA, 0)
    enrol(reader, sensor, LUIS, 300)
    assert reader.getTemplateCount() == 2
    assert reader.getTemplateIndex(0)[0] is True
    assert reader.getTemplateIndex(1)[300 - 256] is True
    assert reader.loadTemplate(300, 0x02)
    capture(reader, sensor, LUIS, 0x01)
    assert reader.compareCharacteristics() >= 50
    assert reader.deleteTemplate(0) is True
    assert reader.getTemplateCount() == 1 and reader.getTemplateIndex(0)[0] is False
    assert reader.storeTemplate() == 0, "the first free slot is reused"
    assert reader.clearDatabase() is True
    assert reader.getTemplateCount() == 0 and not any(reader.getTemplateIndex(1))


def test_download_image_writes_a_256_by_288_picture(sensor: PtySensor, tmp_path: Path) -> None:
    reader = connect(sensor)
    sensor.press(ANA)
    assert reader.readImage()
    target = tmp_path / "capturas" / "huella.png"
    target.parent.mkdir()
    reader.downloadImage(str(target))
    with Image.open(target) as image:
        assert image.size == (256, 288)
        low, high = cast(tuple[int, int], image.convert("L").getextrema())
    assert high - low > 100, "the picture shows ridges, not a blank"


@pytest.mark.parametrize("packet_size", [32, 64, 256])
def test_characteristics_transfer_after_changing_the_packet_size(sensor: PtySensor, packet_size: int) -> None:
    reader = connect(sensor)
    reader.setMaxPacketSize(packet_size)
    assert reader.getMaxPacketSize() == packet_size
    capture(reader, sensor, ANA, 0x01)
    characteristics = reader.downloadCharacteristics(0x01)
    assert len(characteristics) == 512
    assert reader.uploadCharacteristics(0x02, characteristics) is True
    assert reader.compareCharacteristics() == 250


def test_security_level_and_baud_rate_changes_are_acknowledged(sensor: PtySensor) -> None:
    reader = connect(sensor)
    reader.setSecurityLevel(5)
    reader.setBaudRate(115200)
    assert (reader.getSecurityLevel(), reader.getBaudRate()) == (5, 115200)


def test_generate_random_number_gives_32_bit_values(sensor: PtySensor) -> None:
    reader = connect(sensor)
    numbers = {reader.generateRandomNumber() for _ in range(3)}
    assert all(0 <= n < 2**32 for n in numbers) and len(numbers) > 1


def test_a_corrupt_command_gets_one_packet_error_reply_and_nothing_else(sensor: PtySensor) -> None:
    packet = bytearray(encode(0xFFFFFFFF, PacketId.COMMAND, bytes([Instruction.TEMPLATE_NUM])))
    packet[-1] ^= 0x01
    with serial.Serial(sensor.port, 57600, timeout=1) as port:
        port.write(bytes(packet))
        assert port.read(12).hex() == "ef01ffffffff07000301000b"
        port.timeout = 0.3
        assert port.read(1) == b""


def test_throttling_makes_a_character_download_take_its_wire_time() -> None:
    with PtySensor(throttle=True) as sensor:
        reader = connect(sensor)
        assert reader.verifyPassword()
        started = time.monotonic()
        assert len(reader.downloadCharacteristics(0x01)) == 512
        elapsed = time.monotonic() - started
    # Command 13 B, ack 12 B, four 128-byte data packets of 139 B; 10 bits a byte at 57600 baud.
    expected = (13 + 12 + 4 * 139) * 10 / 57600
    assert elapsed >= 0.8 * expected


def test_the_console_script_serves_a_stable_symlink_and_takes_presses_over_its_control_socket(
    tmp_path: Path,
) -> None:
    script = Path(sys.executable).with_name("crm-fingerprint-sensor")
    assert script.exists(), "console script missing: reinstall the project (make setup)"
    link, control = tmp_path / "sensor", tmp_path / "control.sock"
    process = subprocess.Popen(
        [str(script), "--symlink", str(link), "--control", str(control), "--password", "0x1234"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 15)
        assert ready, "the sensor printed nothing"
        port = process.stdout.readline().strip()
        assert port.startswith("/dev/pts/") and os.readlink(link) == port
        assert "Sensor de huellas simulado" in process.stdout.readline()

        state = SensorControl(control).press(ANA)
        assert state["finger"] == ANA and state["password_required"] is True
        reader = connect(str(link), password=0x1234)
        assert reader.verifyPassword()
        assert reader.readImage() and reader.convertImage(0x01)
        assert SensorControl(control).lift()["finger"] is None
        assert reader.readImage() is False
        del reader
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    assert not link.exists() and not link.is_symlink() and not control.exists()
