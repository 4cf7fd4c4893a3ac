"""Chinese national identifiers: real check rules, used on synthetic data only.

- Resident identity number (GB 11643-1999): 17 digits + check character; digits 7-14 are the
  birth date; the 17th digit is odd for men and even for women.
- Unified social credit code (GB 32100-2015): 18 characters over a 31-symbol alphabet with a
  weighted check character.

Validators return a list of ``(rule, message)`` problems rather than raising, so a model can
report every broken rule of a field at once.
"""

from __future__ import annotations

import re
from datetime import date

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# [0-9], not \d: \d also matches full-width and other Unicode digits.
ID_PATTERN = "^[0-9]{17}[0-9X]$"
USCC_PATTERN = f"^[{USCC_ALPHABET}]{{18}}$"
_ID_SHAPE = re.compile(ID_PATTERN.strip("^$"))
_USCC_SHAPE = re.compile(USCC_PATTERN.strip("^$"))

Problem = tuple[str, str]


def id_check_character(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def id_birth_date(id_number: str) -> date:
    """The birth date embedded in digits 7-14 (raises ValueError if it is not a real date)."""
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def id_is_male(id_number: str) -> bool:
    """GB 11643: the sequence code's last digit (17th character) is odd for men."""
    return int(id_number[16]) % 2 == 1


def resident_id_problems(value: str, today: date) -> list[Problem]:
    """Every rule the resident identity number breaks (empty when valid)."""
    if not _ID_SHAPE.fullmatch(value):
        return [("format", "must be 17 digits followed by a digit or X (18 characters)")]
    problems: list[Problem] = []
    try:
        born = id_birth_date(value)
        if born > today:
            problems.append(("birth_date_not_future", f"embedded birth date {born} is in the future"))
    except ValueError:
        problems.append(("birth_date", f"digits 7-14 ({value[6:14]}) are not a real date"))
    expected = id_check_character(value[:17])
    if value[17] != expected:
        problems.append(("check_character", f"check character is {value[17]}, expected {expected}"))
    return problems


def uscc_check_character(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_problems(value: str) -> list[Problem]:
    """Every rule the unified social credit code breaks (empty when valid)."""
    if not _USCC_SHAPE.fullmatch(value):
        return [("format", f"must be 18 characters from {USCC_ALPHABET} (no I, O, Z, S, V)")]
    expected = uscc_check_character(value[:17])
    if value[17] != expected:
        return [("check_character", f"check character is {value[17]}, expected {expected}")]
    return []


def mask_id(value: str) -> str:
    """Mask an identity number for logs: keep the first 6 and last 4 characters."""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]
