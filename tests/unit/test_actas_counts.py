"""``count``: what a coordinator's report counts. Sealed originals by default, a
status filter, corrections only when asked for, and grouping by community."""

from __future__ import annotations

import pytest

from services.actas.domain.errors import FieldsInvalid
from services.actas.service_layer.ports import CountFilter, Person
from tests.actas_support import person, visit

from .test_actas_handlers import COORDINATOR, GESTOR, a_draft, a_sealed_acta, world


def test_by_default_only_sealed_originals_are_counted() -> None:
    w = world()
    a_draft(w)
    sealed = a_sealed_acta(w)
    w.handlers.amend(sealed, {"lugar": "Roche"}, "Lugar mal escrito", COORDINATOR)
    assert w.handlers.count(CountFilter(group_by="template")) == {"visita_domiciliaria@1": 1}


def test_status_filter_and_todos() -> None:
    w = world()
    a_draft(w)
    a_draft(w)
    a_sealed_acta(w)
    assert w.handlers.count(CountFilter(group_by="gestor", status="draft")) == {"g1": 2}
    assert w.handlers.count(CountFilter(group_by="gestor", status="todos")) == {"g1": 3}


def test_corrections_are_counted_only_when_asked_for() -> None:
    w = world()
    sealed = a_sealed_acta(w)
    w.handlers.amend(sealed, {"lugar": "Roche"}, "Lugar mal escrito", COORDINATOR)
    counts = w.handlers.count(CountFilter(group_by="template", status="todos", include_corrections=True))
    assert counts == {"visita_domiciliaria@1": 2}
    assert w.handlers.count(CountFilter(group_by="template", status="todos")) == {"visita_domiciliaria@1": 1}


def test_grouping_by_community() -> None:
    elsewhere = [Person(f"q{n}", "fam9", "com2", f"Otra {n}", f"CC {2000 + n}", {}) for n in (1, 2)]
    w = world([person(1), person(2), *elsewhere])
    a_sealed_acta(w)
    a_sealed_acta(w)
    w.handlers.create("visita_domiciliaria@1", visit(["q1", "q2"], family_id="fam9"), "", None, GESTOR)
    assert w.handlers.count(CountFilter(group_by="community")) == {"com1": 2}
    assert w.handlers.count(CountFilter(group_by="community", status="todos")) == {"com1": 2, "com2": 1}


@pytest.mark.parametrize(
    ("what", "field"),
    [
        (CountFilter(group_by="color"), "group_by"),
        (CountFilter(status="archived"), "status"),
    ],
)
def test_unknown_grouping_or_status_is_refused_naming_the_field(what: CountFilter, field: str) -> None:
    with pytest.raises(FieldsInvalid) as err:
        world().handlers.count(what)
    assert set(err.value.errors) == {field}
