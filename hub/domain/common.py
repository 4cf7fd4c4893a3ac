"""Shared value types of the event catalogue: people, identifiers, dates, money.

Each annotated type carries its rule as a validator that raises ``PydanticCustomError`` with
the rule's name as the error type, so an invalid field is reported as
``{field, rule, message}`` (for example ``spouse_a.id_number`` / ``check_character``).

"Today" comes from the validation context (``context={"today": date}``) so tests and replays
can pin the clock; by default it is today in China Standard Time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BeforeValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from hub.domain import identifiers

CHINA_TZ = timezone(timedelta(hours=8), "CST")


class HubModel(BaseModel):
    """Strict base: unknown fields are refused, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def today_from(info: ValidationInfo) -> date:
    context = info.context or {}
    return context.get("today") or datetime.now(CHINA_TZ).date()


def now_from(info: ValidationInfo) -> datetime:
    context = info.context or {}
    return context.get("now") or datetime.now(timezone.utc)


def _raise_first(problems: list[tuple[str, str]]) -> None:
    if problems:
        rule, message = problems[0]
        raise PydanticCustomError(rule, message)


def _check_resident_id(value: str, info: ValidationInfo) -> str:
    _raise_first(identifiers.resident_id_problems(value, today_from(info)))
    return value


def _check_uscc(value: str) -> str:
    _raise_first(identifiers.uscc_problems(value))
    return value


def _not_future_date(value: date, info: ValidationInfo) -> date:
    if value > today_from(info):
        raise PydanticCustomError("not_future", "date {value} is in the future", {"value": str(value)})
    return value


def _past_instant(value: datetime, info: ValidationInfo) -> datetime:
    if value.tzinfo is None:
        raise PydanticCustomError(
            "timezone_required", "timestamp must carry a UTC offset, e.g. 2018-06-30T09:00:00+08:00"
        )
    # Avro timestamp-millis keeps milliseconds; truncate here so a round trip is exact.
    value = value.astimezone(timezone.utc).replace(microsecond=value.microsecond // 1000 * 1000)
    # A little slack for clocks of department systems that run slightly ahead.
    if value > now_from(info) + timedelta(minutes=5):
        raise PydanticCustomError("not_future", "timestamp {value} is in the future", {"value": value.isoformat()})
    return value


def _text_not_a_number(value):
    # pydantic would read a number as seconds since 1970: the OpenAPI document promises ISO 8601
    # text, and a department sending 0 for a date has a bug worth hearing about.
    if isinstance(value, (int, float)):
        raise PydanticCustomError("iso_8601_text", "must be ISO 8601 text (e.g. 2018-06-30 or "
                                  "2018-06-30T09:00:00+08:00), not a number")
    return value


IsoText = BeforeValidator(_text_not_a_number)

# The shapes in the OpenAPI document too (the check characters and dates no JSON Schema states:
# those are answered 422 naming the rule), so a generated client starts from the right shape.
ResidentId = Annotated[str, Field(json_schema_extra={"pattern": identifiers.ID_PATTERN}),
                       AfterValidator(_check_resident_id)]
"""Resident identity number (居民身份证号码), GB 11643-1999."""

Uscc = Annotated[str, Field(json_schema_extra={"pattern": identifiers.USCC_PATTERN}),
                 AfterValidator(_check_uscc)]
"""Unified social credit code (统一社会信用代码), GB 32100-2015."""

Day = Annotated[date, IsoText]
PastDate = Annotated[date, IsoText, AfterValidator(_not_future_date)]
PastInstant = Annotated[datetime, IsoText, AfterValidator(_past_instant)]
def _two_places(value: Decimal) -> Decimal:
    # pydantic's decimal_places ignores trailing zeros ("3000.100" passes); Avro decimal(18, 2)
    # needs exactly scale 2, and after that check quantizing loses nothing.
    return value.quantize(Decimal("0.01"))


Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2), AfterValidator(_two_places)]
"""Amount in yuan (CNY); Avro ``decimal(18, 2)``."""

ChineseName = Annotated[str, Field(min_length=2, max_length=40)]
Text = Annotated[str, Field(min_length=1, max_length=500)]


class Sex(StrEnum):
    MALE = "MALE"
    FEMALE = "FEMALE"


class Person(HubModel):
    """A natural person identified by a resident identity number."""

    name: ChineseName
    id_number: ResidentId
    sex: Sex

    @field_validator("sex")
    @classmethod
    def _sex_matches_id(cls, sex: Sex, info: ValidationInfo) -> Sex:
        id_number = info.data.get("id_number")  # absent when the number itself was invalid
        if id_number is None:
            return sex
        implied = Sex.MALE if identifiers.id_is_male(id_number) else Sex.FEMALE
        if implied != sex:
            raise PydanticCustomError(
                "sex_matches_id_number",
                "sex is {sex} but the identity number's 17th digit says {implied}",
                {"sex": sex.value, "implied": implied.value},
            )
        return sex

    @property
    def birth_date(self) -> date:
        return identifiers.id_birth_date(self.id_number)

    def age_on(self, day: date) -> int:
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
