"""A software ZhianTec ZFM-20 / R30x / AS608-family fingerprint reader for development and tests.

It speaks the reader's UART protocol on a pseudo-terminal well enough that the
unmodified ``pyfingerprint`` library cannot tell it from hardware. Fingers are
simulated by name (``"ana:indice_derecho"``): see ``fingers`` for the
character-file format and scores, ``emulator`` for the protocol choices.

In-process::

    with PtySensor(SensorConfig(password=0x1234)) as sensor:
        reader = PyFingerprint(sensor.port, 57600, 0xFFFFFFFF, 0x1234)
        sensor.press("ana:indice_derecho")

From a shell: ``crm-fingerprint-sensor --symlink /tmp/crm-sensor --control /tmp/crm-sensor.sock``,
then ``SensorControl("/tmp/crm-sensor.sock").press("ana:indice_derecho")``.
"""

from edge_agent.sensor.control import ControlServer, SensorControl, SensorControlError
from edge_agent.sensor.emulator import SensorConfig, SensorEmulator
from edge_agent.sensor.fingers import Quality
from edge_agent.sensor.pty_transport import PtySensor

__all__ = [
    "ControlServer",
    "PtySensor",
    "Quality",
    "SensorConfig",
    "SensorControl",
    "SensorControlError",
    "SensorEmulator",
]
