"""Personal numbers masked: the caller's phone, and phone or ID numbers typed into free text.

Every service that takes free text from people (a call's description, a patrol's finding, a
resident's hazard report) scrubs it with `scrub_personal_numbers` before anything records it, so
that no console, stream or partner ever receives a number it could call. Pure: no I/O.
"""

from __future__ import annotations

import re


def mask_digits(digits: str) -> str:
    """At most the last four digits shown, and at most half of a short number: 138 1234 5678 →
    *******5678, 110110 → ***110. Enough to recognise a repeat caller, not to call them."""
    shown = min(4, len(digits) // 2)
    return "*" * (len(digits) - shown) + digits[len(digits) - shown:]


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return None
    digits = "".join(c for c in phone if c.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]  # +86: China's country code in front of a mobile number
    return mask_digits(digits)


# The shapes of personal numbers written into free text, and only those (a room "12-2-1203", a
# date "2024-05-01 14:30" stay as written: dispatch needs them): a mobile number (+86 in front,
# spaces or dashes between its groups), a landline with its area code, a resident ID number
# (18 characters, the last one may be X; or the old 15 digits).
_PERSONAL_NUMBER = re.compile(
    r"(?<!\d)(?:"
    r"(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}"  # mobile
    r"|0\d{2,3}[ -]?\d{3,4}[ -]?\d{4}"  # landline with area code
    r"|\d{17}[\dXx]|\d{15}"  # resident ID
    r")(?![\dXx])"
)


def scrub_personal_numbers(text: str) -> str:
    """`text` with every phone or ID number in it masked (mask_digits); the rest as written."""
    return _PERSONAL_NUMBER.sub(lambda m: mask_digits("".join(c for c in m.group() if c.isdigit() or c in "Xx")), text)


__all__ = ["mask_digits", "mask_phone", "scrub_personal_numbers"]
