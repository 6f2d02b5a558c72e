"""Phone numbers as the providers want them: E.164, Colombian numbers by default.

Normalisation and number types come from ``phonenumbers`` (Google's libphonenumber
metadata), so Colombia's 2021 numbering plan is known: mobiles are ``3XX XXX XXXX``
and landlines ``60X XXX XXXX``, both ten digits after ``+57``.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType, ValidationResult

from services.notifications.domain.errors import InvalidPhone

# Digits and the punctuation people write numbers with. Letters are refused even
# though libphonenumber would read them as a keypad ("300 ABC 4567"): in a
# beneficiary's record they are a typo, not a vanity number.
_WRITTEN_PHONE = re.compile(r"^\+?[\d\s().\-/]+$")
_MAX_INPUT = 40

_POSSIBILITY_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
    ValidationResult.TOO_SHORT: "too few digits",
    ValidationResult.TOO_LONG: "too many digits",
    ValidationResult.INVALID_LENGTH: "wrong number of digits",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "a local number without its area code",
}

_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


def normalise_phone(raw: str, default_region: str = "CO") -> str:
    """The E.164 form of ``raw`` (``"300 123 4567"`` -> ``"+573001234567"``).

    Numbers without a country code are read as numbers of ``default_region``; a
    leading ``00`` is read as ``+``. Raises ``InvalidPhone`` naming the input and why.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone(raw, "empty")
    if len(text) > _MAX_INPUT or not _WRITTEN_PHONE.match(text):
        raise InvalidPhone(raw, "contains characters that are not part of a phone number")
    candidates = [text]
    if text.startswith("00"):
        # "0057 300 ..." means +57; Colombian carrier prefixes (005, 007, 009) would
        # otherwise swallow the country code, so try the international reading first.
        candidates.insert(0, "+" + text[2:].lstrip())
    reason = "not a phone number"
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, default_region)
        except NumberParseException as exc:
            reason = _parse_reason(exc)
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, PhoneNumberFormat.E164)
        reason = _invalid_reason(number)
    raise InvalidPhone(raw, reason)


def is_mobile(e164: str) -> bool:
    """Whether an E.164 number can be a mobile, i.e. can receive SMS and WhatsApp.

    Numbers whose type cannot be told apart (``FIXED_LINE_OR_MOBILE``, as in the
    United States) count as mobiles: the provider will say if they are not.
    """
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return False
    return phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in _MOBILE_TYPES


def _parse_reason(exc: NumberParseException) -> str:
    reasons = {
        NumberParseException.INVALID_COUNTRY_CODE: "unknown country calling code",
        NumberParseException.NOT_A_NUMBER: "not a phone number",
        NumberParseException.TOO_SHORT_AFTER_IDD: "too few digits after the international prefix",
        NumberParseException.TOO_SHORT_NSN: "too few digits",
        NumberParseException.TOO_LONG: "too many digits",
    }
    return reasons.get(exc.error_type, "not a phone number")


def _invalid_reason(number: phonenumbers.PhoneNumber) -> str:
    possibility = phonenumbers.is_possible_number_with_reason(number)
    if possibility in _POSSIBILITY_REASONS:
        return _POSSIBILITY_REASONS[possibility]
    region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    return f"no such number in the numbering plan of {region} (+{number.country_code})"
