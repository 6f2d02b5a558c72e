"""Normalisation of identity documents, names, search keys, dates, phones and emails."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.beneficiaries.domain.normalise import (
    InvalidValue,
    clean_name,
    fold,
    national_id_key,
    normalise_email,
    normalise_id_number,
    normalise_id_type,
    normalise_phone,
    parse_birth_date,
    search_tokens,
)

TODAY = date(2024, 5, 6)
# No example database on disk: unit tests do no I/O.
props = settings(database=None, max_examples=200)


# -- identity documents ---------------------------------------------------------
@pytest.mark.parametrize("raw", ["CC", "cc", " Cc ", "ppt", "PA"])
def test_id_type_is_trimmed_and_upper_cased(raw: str) -> None:
    assert normalise_id_type(raw) == raw.strip().upper()


def test_missing_id_type_is_rejected() -> None:
    with pytest.raises(InvalidValue, match="obligatorio"):
        normalise_id_type("  ")


def test_unknown_id_type_is_rejected_listing_the_accepted_types() -> None:
    with pytest.raises(InvalidValue) as exc:
        normalise_id_type("NIT")
    assert "'NIT'" in str(exc.value)
    for accepted in ("CC", "TI", "RC", "CE", "PPT", "PA"):
        assert accepted in str(exc.value)


@pytest.mark.parametrize("raw", ["1.023.456.789", "1 023 456 789", "1-023-456-789", " 1023456789 ", "1023456789"])
def test_id_number_drops_dots_spaces_and_dashes(raw: str) -> None:
    assert normalise_id_number("CC", raw) == "1023456789"


@pytest.mark.parametrize(
    ("id_type", "raw", "expected"),
    [
        ("CC", "123456", "123456"),
        ("TI", "1002003004", "1002003004"),
        ("TI", "10020030041", "10020030041"),
        ("RC", "1a2b3c4d", "1A2B3C4D"),
        ("CE", "e-123456", "E123456"),
        ("PPT", "1.234.567", "1234567"),
        ("PA", "ab 12345", "AB12345"),
    ],
)
def test_id_number_accepts_each_document_format(id_type: str, raw: str, expected: str) -> None:
    assert normalise_id_number(id_type, raw) == expected


@pytest.mark.parametrize(
    ("id_type", "raw"),
    [
        ("CC", "0123456789"),  # a cédula never starts with 0
        ("CC", "12345"),  # too short
        ("CC", "12345678901"),  # too long
        ("CC", "12345A"),  # letters only in CE, RC and PA
        ("TI", "100200300"),  # nine digits
        ("RC", "1234567"),
        ("CE", "E1234"),
        ("PPT", "AB12345"),
        ("PA", "AB12"),
        ("PA", "AB12345678901"),
    ],
)
def test_id_number_outside_its_type_format_is_rejected(id_type: str, raw: str) -> None:
    with pytest.raises(InvalidValue):
        normalise_id_number(id_type, raw)


def test_id_number_error_names_the_document_type() -> None:
    with pytest.raises(InvalidValue, match="cédula de ciudadanía"):
        normalise_id_number("CC", "12")


def test_missing_id_number_is_rejected() -> None:
    with pytest.raises(InvalidValue, match="obligatorio"):
        normalise_id_number("CC", " .- ")


def test_national_id_key_combines_type_and_number() -> None:
    assert national_id_key("CC", "1023456789") == "CC:1023456789"


@props
@given(
    digits=st.from_regex(r"[1-9][0-9]{5,9}", fullmatch=True),
    separators=st.lists(st.sampled_from([".", " ", "-"]), min_size=10, max_size=10),
)
def test_separators_never_change_a_cedula_number(digits: str, separators: list[str]) -> None:
    formatted = "".join(d + s for d, s in zip(digits, separators, strict=False))
    assert normalise_id_number("CC", formatted) == digits
    assert normalise_id_number("CC", normalise_id_number("CC", formatted)) == digits


# -- names ----------------------------------------------------------------------
def test_name_whitespace_is_collapsed_and_trimmed() -> None:
    assert clean_name("  María \t  José  ", "El nombre") == "María José"


def test_decomposed_accents_are_stored_composed() -> None:
    decomposed = "Jose\u0301 Pen\u0303a"
    assert clean_name(decomposed, "El nombre") == "José Peña"


@pytest.mark.parametrize("raw", ["O'Neill", "Ana-María", "Ma.", "Nguyễn", "Zoë"])
def test_names_with_apostrophes_hyphens_initial_dot_and_any_script_are_accepted(raw: str) -> None:
    assert clean_name(raw, "El nombre") == raw


@pytest.mark.parametrize("raw", ["Juan2", "Ana_María", "Pedro@", "-Ana", "Ana--María", "Luis!"])
def test_names_with_digits_or_symbols_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidValue, match="El apellido contiene caracteres no permitidos"):
        clean_name(raw, "El apellido")


def test_empty_name_is_rejected_with_the_field_label() -> None:
    with pytest.raises(InvalidValue, match="El apellido es obligatorio"):
        clean_name("   ", "El apellido")


def test_name_length_limit_is_eighty_characters() -> None:
    assert clean_name("a" * 80, "El nombre") == "a" * 80
    with pytest.raises(InvalidValue, match="80"):
        clean_name("a" * 81, "El nombre")


# -- search keys ----------------------------------------------------------------
def test_fold_drops_accents_and_case() -> None:
    assert fold("José Peña") == "jose pena"
    assert fold("  ÁLVARO   MUÑOZ ") == "alvaro munoz"


def test_search_tokens_of_a_name_are_accent_and_case_insensitive() -> None:
    assert search_tokens("José Peña") == ["jose", "pena"]
    assert search_tokens("JOSE PENA") == search_tokens("josé peña")


def test_search_tokens_split_hyphens_and_apostrophes_across_all_names() -> None:
    assert search_tokens("María José", "Peña-Gómez D'Angelo") == [
        "maria",
        "jose",
        "pena",
        "gomez",
        "d",
        "angelo",
    ]


def test_search_tokens_are_distinct() -> None:
    assert search_tokens("Ana Ana", "ANA Ríos") == ["ana", "rios"]


def test_search_tokens_of_blank_text_are_empty() -> None:
    assert search_tokens("", "  ", "-'") == []


SPANISH = "abcdefghijklmnñopqrstuvwxyzáéíóúüABCDEFGHIJKLMNÑOPQRSTUVWXYZÁÉÍÓÚÜ "


@props
@given(st.text(alphabet=SPANISH, max_size=40))
def test_fold_of_spanish_text_ignores_case_and_accents(text: str) -> None:
    folded = fold(text)
    assert folded == fold(text.upper()) == fold(text.lower())
    assert folded.isascii()
    assert fold(folded) == folded


# -- birth dates ----------------------------------------------------------------
def test_birth_date_is_parsed_from_iso_format() -> None:
    assert parse_birth_date(" 1990-05-17 ", TODAY) == date(1990, 5, 17)


def test_birth_date_today_is_accepted() -> None:
    assert parse_birth_date("2024-05-06", TODAY) == TODAY


def test_birth_date_in_the_future_is_rejected() -> None:
    with pytest.raises(InvalidValue, match="futuro"):
        parse_birth_date("2024-05-07", TODAY)


def test_birth_date_before_1900_is_rejected() -> None:
    assert parse_birth_date("1900-01-01", TODAY) == date(1900, 1, 1)
    with pytest.raises(InvalidValue, match="1900"):
        parse_birth_date("1899-12-31", TODAY)


@pytest.mark.parametrize("raw", ["17/05/1990", "1990-02-30", "ayer", "1990-5-17"])
def test_birth_date_in_another_format_is_rejected_naming_the_format(raw: str) -> None:
    with pytest.raises(InvalidValue, match="AAAA-MM-DD"):
        parse_birth_date(raw, TODAY)


def test_missing_birth_date_is_rejected() -> None:
    with pytest.raises(InvalidValue, match="obligatoria"):
        parse_birth_date("", TODAY)


# -- phones ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        "300 123 4567",
        "3001234567",
        "(300) 123-4567",
        "+57 300 123 4567",
        "+573001234567",
        "57 300 123 4567",
        "573001234567",
        "0057 300 123 4567",
    ],
)
def test_colombian_mobile_in_any_common_form_becomes_e164(raw: str) -> None:
    assert normalise_phone(raw) == "+573001234567"


def test_colombian_landline_becomes_e164() -> None:
    assert normalise_phone("601 234 5678") == "+576012345678"
    assert normalise_phone("+57 604 444 1234") == "+576044441234"


@pytest.mark.parametrize("raw", ["+1 415 555 0100", "+1 (415) 555-0100", "001 415 555 0100"])
def test_foreign_number_with_international_prefix_keeps_its_country(raw: str) -> None:
    assert normalise_phone(raw) == "+14155550100"


@pytest.mark.parametrize(
    "raw",
    [
        "12345",  # too short for Colombia
        "200 123 4567",  # neither mobile (3) nor landline (60)
        "300 123 456",  # nine digits
        "300 123 45678",  # eleven digits
        "+57 300 123 45678",
        "+57 1 234 5678",  # pre-2021 Bogotá landline
        "teléfono",
        "+1 415",  # foreign but too short
        "+1 415 555 0100 1234 5",  # longer than E.164 allows
    ],
)
def test_invalid_phone_numbers_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidValue):
        normalise_phone(raw)


@pytest.mark.parametrize("raw", ["691 234 5678", "+57 612 345 6789"])
def test_colombian_landline_outside_the_60x_range_is_rejected(raw: str) -> None:
    # Since 2021 every Colombian landline is 60X XXX XXXX (the rule the code states).
    with pytest.raises(InvalidValue):
        normalise_phone(raw)


def test_empty_phone_is_rejected() -> None:
    with pytest.raises(InvalidValue, match="vacío"):
        normalise_phone("   ")


@props
@given(
    national=st.from_regex(r"3[0-9]{9}", fullmatch=True),
    prefix=st.sampled_from(["", "+57", "57", "0057", "+57 "]),
    separator=st.sampled_from(["", " ", "-", "."]),
)
def test_normalised_colombian_mobile_is_stable(national: str, prefix: str, separator: str) -> None:
    raw = prefix + separator.join([national[:3], national[3:6], national[6:]])
    e164 = normalise_phone(raw)
    assert e164 == "+57" + national
    assert normalise_phone(e164) == e164


# -- email ----------------------------------------------------------------------
def test_email_is_trimmed_and_lower_cased() -> None:
    assert normalise_email("  Ana.Pena@Example.ORG ") == "ana.pena@example.org"


@pytest.mark.parametrize(
    "raw",
    [
        "ana",
        "ana@",
        "@example.org",
        "ana@example",
        "ana pena@example.org",
        "ana@@example.org",
        "ana@example.c",
        "",
    ],
)
def test_malformed_email_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidValue):
        normalise_email(raw)


def test_email_longer_than_254_characters_is_rejected() -> None:
    with pytest.raises(InvalidValue):
        normalise_email("a" * 250 + "@x.org")
