"""The departments that publish to and receive from the hub.

Enum values are the Avro enum symbols too, so a department reads the same in JSON, in Avro
and in logs.
"""

from __future__ import annotations

from enum import StrEnum


class Department(StrEnum):
    """A government department connected to the hub."""

    CIVIL_AFFAIRS = "CIVIL_AFFAIRS"
    MARKET_SUPERVISION = "MARKET_SUPERVISION"
    HEALTH = "HEALTH"
    PUBLIC_SECURITY = "PUBLIC_SECURITY"
    HUMAN_RESOURCES_SOCIAL_SECURITY = "HUMAN_RESOURCES_SOCIAL_SECURITY"
    TAX = "TAX"
    MEDICAL_INSURANCE = "MEDICAL_INSURANCE"
    PROVIDENT_FUND = "PROVIDENT_FUND"
    COMMERCE = "COMMERCE"

    @property
    def chinese_name(self) -> str:
        return CHINESE_NAMES[self]

    @classmethod
    def parse(cls, text: str) -> "Department":
        """Accept the symbol in any case, with ``-`` or ``_`` (``civil-affairs``)."""
        key = text.strip().upper().replace("-", "_")
        try:
            return cls(key)
        except ValueError:
            known = ", ".join(d.value for d in cls)
            raise ValueError(f"unknown department {text!r}; known: {known}") from None


CHINESE_NAMES: dict[Department, str] = {
    Department.CIVIL_AFFAIRS: "民政",
    Department.MARKET_SUPERVISION: "市场监管",
    Department.HEALTH: "卫生健康",
    Department.PUBLIC_SECURITY: "公安",
    Department.HUMAN_RESOURCES_SOCIAL_SECURITY: "人力社保",
    Department.TAX: "税务",
    Department.MEDICAL_INSURANCE: "医保",
    Department.PROVIDENT_FUND: "住房公积金",
    Department.COMMERCE: "商务",
}
