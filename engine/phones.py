"""Phone numbers in any common format to E.164, with Google's libphonenumber rules (`phonenumbers`)."""
from __future__ import annotations

from functools import lru_cache

import phonenumbers

from .errors import ValidationError

DEFAULT_REGION = "NP"  # numbers written without a country code are read as Nepali (the platform's market)
MAX_LENGTH = 40


def to_e164(text: str, region: str = DEFAULT_REGION) -> str:
    """"+977 980-000 0000", "9800000000" or "00977 9800000000" -> "+9779800000000".

    Raises ValidationError(field "phone") for anything that is not a possible number."""
    if not isinstance(text, str) or not isinstance(region, str) or not text.strip() or len(text) > MAX_LENGTH:
        raise ValidationError("phone", "must be a phone number")
    return _parse(text, region)


@lru_cache(maxsize=20_000)  # the same retailers' and wholesalers' numbers recur on every enqueue
def _parse(text: str, region: str) -> str:
    try:
        number = phonenumbers.parse(text.strip(), region)
    except phonenumbers.NumberParseException:
        raise ValidationError("phone", f"not a phone number: {text[:MAX_LENGTH]!r}") from None
    if not phonenumbers.is_possible_number(number):
        raise ValidationError("phone", f"not a possible phone number: {text[:MAX_LENGTH]!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
