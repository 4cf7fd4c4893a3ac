"""Text safe for logs, error messages and dead-letter reasons: nothing personal in it.

Two layers, because either alone leaks. Errors are described from their *structure* where the
library's own text quotes the data (pydantic's ``input_value=…``, fastavro's datum), so a payload
value such as a name never reaches a message; and every text is passed through :func:`redact`,
which masks what has a recognisable shape (identity numbers, credit codes, certificate numbers) to
the first 6 and last 4 characters, whatever path it came by (an agency's echo, a URL, a key).

Pure: no logging set-up here; :mod:`hub.cli.redacted_logging` installs this on every log record.
"""

from __future__ import annotations

import re

from pydantic import ValidationError

from hub.domain.identifiers import mask_id

# Whole tokens only (no letter or digit either side), so ids inside longer words are left alone.
_EDGE_BEFORE, _EDGE_AFTER = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
_PERSONAL_SHAPES = (
    r"[0-9]{17}[0-9Xx]",                       # 居民身份证号码 (GB 11643)
    r"(?=[0-9A-Z]*[0-9])[0-9A-HJ-NP-RTUWXY]{18}",  # 统一社会信用代码 (GB 32100), with a digit
    r"[A-Z][0-9]{6}-[0-9]{4}-[0-9]{6}",        # marriage certificate (J330106-2024-000123)
    r"[A-Z][0-9]{9}",                          # 出生医学证明编号
    # certificate and approval numbers: a letter, at least 6 digits, dashes allowed; not a date
    (r"(?<!-)(?![0-9]{4}-[0-9]{2}-[0-9]{2})(?=[0-9-]*[A-Z])(?=(?:[A-Z-]*[0-9]){6})"
     r"[A-Z0-9][A-Z0-9-]{6,28}[A-Z0-9]"),
    r"[0-9]{11,}",                             # long bare numbers: phone, bank card, all-digit ids
)
_PERSONAL = re.compile(_EDGE_BEFORE + "(?:" + "|".join(_PERSONAL_SHAPES) + ")" + _EDGE_AFTER)

DEFAULT_LIMIT = 2000


# A citizen's signed link is a credential for as long as it lasts: never kept in a log (uvicorn's
# access log writes every path).
_CITIZEN_LINK = re.compile(r"(/citizen/)[A-Za-z0-9_=-]{16,}")


def redact(text: str, limit: int = DEFAULT_LIMIT) -> str:
    """``text`` with every identity-shaped token and citizen link masked, cut to ``limit``
    characters."""
    masked = _CITIZEN_LINK.sub(r"\1<link>", _PERSONAL.sub(lambda m: mask_id(m.group(0)), text))
    return masked if len(masked) <= limit else masked[:limit] + "…"


def is_identifier_shaped(text: str) -> bool:
    """Whether ``text`` is one identity number, credit code or certificate number as a whole."""
    return _PERSONAL.fullmatch(text) is not None


def _validation_text(exc: ValidationError) -> str:
    # pydantic's str() quotes each input (input_value='…'); the field, rule and message do not.
    parts = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        where = ".".join(str(part) for part in err["loc"]) or "(body)"
        parts.append(f"{where}: {err['msg']} [{err['type']}]")
    return f"{exc.error_count()} validation error(s) for {exc.title}: " + "; ".join(parts)


def _avro_text(exc: Exception) -> str | None:
    # fastavro's texts quote the datum that did not fit; keep the fields it names, not the value.
    errors = getattr(exc, "errors", None)
    if isinstance(errors, list | tuple) and errors:
        fields = sorted({str(getattr(e, "field", None) or "?") for e in errors})
        return f"the record does not match its Avro schema at {', '.join(fields)}"
    if type(exc).__module__.startswith("fastavro"):
        return "the record does not match its Avro schema"
    return None


def error_text(exc: BaseException, limit: int = DEFAULT_LIMIT) -> str:
    """What went wrong, fit for a log line, a dead-letter reason or an HTTP error body.

    Never quotes the data that caused it: validation errors are rebuilt from their fields and
    rules, and what remains is passed through :func:`redact`.
    """
    if isinstance(exc, ValidationError):
        text = _validation_text(exc)
    else:
        text = _avro_text(exc) if isinstance(exc, Exception) else None
        text = text or str(exc) or type(exc).__name__
    return redact(text, limit)


def described(exc: BaseException, limit: int = DEFAULT_LIMIT) -> str:
    """``Type: text`` for ``exc``, as :func:`error_text` makes it."""
    return f"{type(exc).__name__}: {error_text(exc, limit)}"
