"""NaN and infinities in an acta's values are refused by the actas service itself,
naming the field, whichever way they arrive (issue 12, item 5): gRPC callers get
INVALID_ARGUMENT, never a server error from the protobuf conversion."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from google.protobuf.struct_pb2 import Struct

from services.actas.domain.catalogue import by_key
from services.actas.domain.errors import FieldsInvalid
from services.actas.domain.templates import non_finite_numbers
from services.actas.entrypoints import proto_mapping

VISIT = by_key()["visita_domiciliaria@1"]
NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"personas_presentes": NAN}, "personas_presentes"),
        ({"personas_presentes": -INF}, "personas_presentes"),
        ({"ubicacion": {"lat": INF, "lon": -72.0}}, "ubicacion"),
        ({"lugar": NAN}, "lugar"),
        ({"firmantes": ["b1", NAN]}, "firmantes"),
    ],
)
def test_a_non_finite_number_is_refused_naming_the_field(values: dict[str, Any], field: str) -> None:
    with pytest.raises(FieldsInvalid) as caught:
        VISIT.validate(values)
    assert "NaN" in caught.value.fields[field]


def test_every_non_finite_path_is_found() -> None:
    value = {"a": NAN, "b": {"c": [1.0, INF]}, "d": "NaN", "e": 3}
    assert sorted(non_finite_numbers(value)) == ["a", "b.c.1"]


def test_values_from_a_struct_keep_non_finite_numbers_for_validation_to_name() -> None:
    message = Struct()
    message.update({"personas_presentes": NAN, "ubicacion": {"lat": INF, "lon": 1}})
    values = proto_mapping.values(message)
    assert sorted(non_finite_numbers(values)) == ["personas_presentes", "ubicacion.lat"]
    with pytest.raises(FieldsInvalid) as caught:
        VISIT.validate(values)
    assert {"personas_presentes", "ubicacion"} <= set(caught.value.fields)


def test_values_from_a_struct_are_what_message_to_dict_gives_otherwise() -> None:
    message = Struct()
    message.update({"a": 3.0, "b": [1, 2.5, {"c": None, "d": True}], "e": "x", "f": {}, "g": []})
    assert proto_mapping.values(message) == MessageToDict(message)
