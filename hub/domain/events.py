"""Payloads of the six seed registration events, with the rules a registrar would apply.

Field order matters: cross-field rules are field validators on the later field, reading the
earlier ones from ``info.data``, so each error names the field a clerk would fix.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from hub.domain.common import (
    CHINA_TZ,
    ChineseName,
    HubModel,
    Money,
    Day,
    PastDate,
    PastInstant,
    Person,
    Sex,
    Text,
    Uscc,
)

OrgName = Annotated[str, Field(min_length=4, max_length=100)]
Authority = Annotated[str, Field(min_length=4, max_length=100)]

# GB 32100-2015 position 1: registration authority; position 2: organisation category.
USCC_CIVIL_AFFAIRS = "5"
USCC_MARKET_SUPERVISION = "9"


class OrganisationType(StrEnum):
    """Social organisations registered by civil affairs, with their GB 32100 category code."""

    SOCIAL_GROUP = "SOCIAL_GROUP"  # 社会团体, code 1
    PRIVATE_NON_ENTERPRISE_UNIT = "PRIVATE_NON_ENTERPRISE_UNIT"  # 民办非企业单位, code 2
    FOUNDATION = "FOUNDATION"  # 基金会, code 3


ORG_TYPE_CODE = {
    OrganisationType.SOCIAL_GROUP: "1",
    OrganisationType.PRIVATE_NON_ENTERPRISE_UNIT: "2",
    OrganisationType.FOUNDATION: "3",
}


def _uscc_prefix_rule(uscc: str, expected: str, what: str) -> None:
    if not uscc.startswith(expected):
        raise PydanticCustomError(
            "uscc_category",
            "code starts with {actual}, but {what} must start with {expected} (GB 32100 positions 1-2)",
            {"actual": uscc[: len(expected)], "what": what, "expected": expected},
        )


class SocialOrganisationRegistered(HubModel):
    """社会组织成立登记 (civil affairs), e.g. a yoga association (seed 003)."""

    organisation_name: OrgName
    organisation_type: OrganisationType
    uscc: Uscc
    legal_representative: Person
    registered_address: Text
    business_scope: Text
    registered_funds: Money
    supervising_unit: Authority | None = None
    registration_authority: Authority
    registered_on: PastDate

    @field_validator("uscc")
    @classmethod
    def _uscc_matches_type(cls, uscc: str, info: ValidationInfo) -> str:
        org_type = info.data.get("organisation_type")
        if org_type is not None:
            prefix = USCC_CIVIL_AFFAIRS + ORG_TYPE_CODE[org_type]
            _uscc_prefix_rule(uscc, prefix, f"a {org_type.value} registered by civil affairs")
        return uscc

    def subject_ids(self) -> list[str]:
        return [self.uscc]


class EnterpriseType(StrEnum):
    LIMITED_LIABILITY_COMPANY = "LIMITED_LIABILITY_COMPANY"  # 有限责任公司
    JOINT_STOCK_COMPANY = "JOINT_STOCK_COMPANY"  # 股份有限公司
    SOLE_PROPRIETORSHIP = "SOLE_PROPRIETORSHIP"  # 个人独资企业
    PARTNERSHIP = "PARTNERSHIP"  # 合伙企业


class EnterpriseRegistered(HubModel):
    """企业设立登记 (market supervision); foreign-invested ones also go to commerce (seed 004)."""

    enterprise_name: OrgName
    enterprise_type: EnterpriseType
    uscc: Uscc
    foreign_invested: bool
    investor_countries: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = Field(
        default_factory=list, description="ISO 3166-1 alpha-2 codes of the investors' countries."
    )
    legal_representative: Person
    registered_capital: Money
    registered_address: Text
    business_scope: Text
    registration_authority: Authority
    established_on: PastDate

    @field_validator("uscc")
    @classmethod
    def _uscc_is_enterprise(cls, uscc: str) -> str:
        _uscc_prefix_rule(uscc, USCC_MARKET_SUPERVISION + "1", "an enterprise")
        return uscc

    @field_validator("investor_countries")
    @classmethod
    def _foreign_has_foreign_investor(cls, countries: list[str], info: ValidationInfo) -> list[str]:
        if info.data.get("foreign_invested") and not any(c != "CN" for c in countries):
            raise PydanticCustomError(
                "foreign_investor_required",
                "a foreign-invested enterprise must name at least one investor country other than CN",
            )
        return countries

    def subject_ids(self) -> list[str]:
        return [self.uscc]


# Civil Code art. 1047: men may marry at 22, women at 20.
MARRIAGE_AGE = {Sex.MALE: 22, Sex.FEMALE: 20}


def _of_marriage_age(spouse: Person, info: ValidationInfo) -> Person:
    day = info.data.get("registered_on")
    if day is not None and spouse.age_on(day) < MARRIAGE_AGE[spouse.sex]:
        raise PydanticCustomError(
            "legal_marriage_age",
            "is {age} on {day}; the legal marriage age is {minimum}",
            {"age": spouse.age_on(day), "day": str(day), "minimum": MARRIAGE_AGE[spouse.sex]},
        )
    return spouse


class MarriageRegistered(HubModel):
    """结婚登记 (civil affairs); the provident fund checks marital status itself (seed 002)."""

    certificate_number: str = Field(pattern=r"^J\d{6}-\d{4}-\d{6}$")
    registered_on: PastDate
    registration_office: Authority
    spouse_a: Person
    spouse_b: Person

    _age_a = field_validator("spouse_a")(_of_marriage_age)

    @field_validator("spouse_b")
    @classmethod
    def _distinct_and_of_age(cls, spouse_b: Person, info: ValidationInfo) -> Person:
        spouse_a = info.data.get("spouse_a")
        if spouse_a is not None and spouse_a.id_number == spouse_b.id_number:
            raise PydanticCustomError("distinct_spouses", "spouse_b is the same person as spouse_a")
        if spouse_a is not None and spouse_a.sex == spouse_b.sex:
            # Civil Code art. 1049: a marriage is registered by a man and a woman (男女双方).
            raise PydanticCustomError(
                "opposite_sex", "spouse_b has the same sex as spouse_a ({sex})", {"sex": spouse_b.sex.value}
            )
        return _of_marriage_age(spouse_b, info)

    def subject_ids(self) -> list[str]:
        return [self.spouse_a.id_number, self.spouse_b.id_number]


class BirthCertified(HubModel):
    """出生医学证明签发 (health): household registration, medical insurance, social security card."""

    certificate_number: str = Field(pattern=r"^[A-Z]\d{9}$", description="出生医学证明编号")
    child_name: ChineseName
    child_sex: Sex
    born_at: PastInstant
    birth_place: Text
    birth_weight_grams: int = Field(ge=300, le=7000)
    mother: Person
    father: Person | None = None

    def subject_ids(self) -> list[str]:
        # The newborn has no identity number yet: the certificate identifies the child.
        ids = [self.certificate_number, self.mother.id_number]
        return ids + ([self.father.id_number] if self.father else [])


class DeathCause(StrEnum):
    DISEASE = "DISEASE"
    INJURY = "INJURY"
    OTHER = "OTHER"


class DeathCertified(HubModel):
    """死亡医学证明签发 (health): deregistration, pension stop, insurance end, provident fund."""

    certificate_number: str = Field(pattern=r"^[A-Z0-9]{8,20}$", description="死亡医学证明编号")
    deceased: Person
    died_at: PastInstant
    place_of_death: Text
    cause_category: DeathCause
    certifying_institution: Authority

    @field_validator("died_at")
    @classmethod
    def _after_birth(cls, died_at, info: ValidationInfo):
        deceased = info.data.get("deceased")
        # The birth date in the identity number is a China date; compare in China time.
        if deceased is not None and died_at.astimezone(CHINA_TZ).date() < deceased.birth_date:
            raise PydanticCustomError("after_birth", "date of death is before the date of birth")
        return died_at

    def subject_ids(self) -> list[str]:
        return [self.deceased.id_number]


class RetirementType(StrEnum):
    NORMAL = "NORMAL"
    EARLY_SPECIAL_WORK = "EARLY_SPECIAL_WORK"
    EARLY_DISABILITY = "EARLY_DISABILITY"


# Statutory retirement age used by the seed's provident-fund rule (seed 000): men 60, women 50.
RETIREMENT_AGE = {Sex.MALE: 60, Sex.FEMALE: 50}


class RetirementApproved(HubModel):
    """退休审批 (human resources & social security): provident-fund retirement withdrawal."""

    approval_number: str = Field(pattern=r"^[A-Z0-9-]{6,30}$")
    person: Person
    retirement_type: RetirementType
    retirement_date: Day
    approved_on: PastDate
    monthly_pension: Money
    insured_region: str = Field(pattern=r"^\d{6}$", description="参保地行政区划代码")

    @field_validator("retirement_date")
    @classmethod
    def _statutory_age(cls, day: date, info: ValidationInfo) -> date:
        person, kind = info.data.get("person"), info.data.get("retirement_type")
        if person is None or kind is not RetirementType.NORMAL:
            return day
        minimum = RETIREMENT_AGE[person.sex]
        if person.age_on(day) < minimum:
            raise PydanticCustomError(
                "statutory_retirement_age",
                "person is {age} on {day}; normal retirement needs {minimum}",
                {"age": person.age_on(day), "day": str(day), "minimum": minimum},
            )
        return day

    def subject_ids(self) -> list[str]:
        return [self.person.id_number]


class DocumentsSupplemented(HubModel):
    """补齐材料: documents missing at acceptance (容缺受理) have now been provided.

    ``subject_id`` repeats the held event's primary subject, so the supplement is keyed (and
    partitioned) like the event it completes.
    """

    supplements_event_id: str = Field(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    subject_id: str = Field(min_length=6, max_length=40)
    documents: list[Annotated[str, Field(min_length=2, max_length=100)]] = Field(min_length=1)

    def subject_ids(self) -> list[str]:
        return [self.subject_id]


ItemName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{2,63}$")]


class ConsentWithdrawn(HubModel):
    """撤回同意: the citizen withdraws consent given at the window (PIPL art. 15) to items of an
    earlier registration that were shared only on that consent (``basis_kind: consent``).

    Like a supplement it names the event (``withdraws_consent_of``) and repeats the subject it is
    filed under, so it is keyed (and partitioned) like it; only the department that recorded the
    event may publish it. The router tells each department that received those items (an
    ANNULMENT of the item: it deletes what it holds on that basis) and never sends them again
    for that registration, not even on a correction.
    """

    withdraws_consent_of: str = Field(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    subject_id: str = Field(min_length=6, max_length=40)
    items: list[ItemName] = Field(min_length=1, max_length=20)
    withdrawn_on: PastDate

    def subject_ids(self) -> list[str]:
        return [self.subject_id]
