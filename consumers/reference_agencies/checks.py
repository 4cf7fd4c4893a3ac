"""Each reference agency's business rule: what makes it refuse an item on its merits.

One rule per agency, chosen because a real registrar applies it and because it gives the demo
and the tests a real ``Rejected`` path. A check looks at the item, its subject (see
:func:`subject_of`) and the agency's own ledger, and returns a reason to refuse or ``None``.
Reasons travel on the outcomes topic and into logs, so identity numbers in them are masked.

| agency            | rule                                                                        |
|-------------------|-----------------------------------------------------------------------------|
| TAX               | one tax registration per credit code (一照一码: a taxpayer registers once)  |
| HRSS (人社)        | a pension is stopped once per person (a second stop is a duplicate report) |
| MEDICAL_INSURANCE | one newborn enrolment per birth certificate (重复参保 is refused)             |
| PROVIDENT_FUND    | the retirement withdrawal is paid once per person                          |
| PUBLIC_SECURITY   | no marital-status change for a spouse whose household was deregistered     |
|                   | as deceased (死亡注销户口) in this register                                   |
| COMMERCE          | one establishment filing per enterprise (later changes are 变更备案)          |

"Live" means a registration that is not ANNULLED: an annulled registration no longer blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from hub.domain.departments import Department
from hub.domain.identifiers import mask_id
from hub.domain.routing import WorkItem

# The main identifier of an item, first match wins: the organisation's credit code, the person
# the item is about (deceased / retiree), the certificate (a newborn has no identity number yet;
# a marriage is one certificate), and for the provident fund's marital-status item — granted no
# certificate number — the first spouse.
SUBJECT_FIELDS = (
    "payload.uscc",
    "payload.deceased.id_number",
    "payload.person.id_number",
    "payload.certificate_number",
    "payload.spouse_a.id_number",
)


def subject_of(item: WorkItem) -> str | None:
    """The identifier an agency files the item under, or ``None`` if the data carries none."""
    for path in SUBJECT_FIELDS:
        if item.data.get(path):
            return item.data[path]
    return None


class Ledger(Protocol):
    """What a check may ask of the agency's own register."""

    def live_reference(self, item: str, subject: str, exclude: str | None = None) -> str | None:
        """Reference of a live registration of ``item`` for ``subject`` (other than ``exclude``)."""


# (ledger, item, subject, reference the item already has — set for a correction) -> reason | None
Check = Callable[[Ledger, WorkItem, str, str | None], str | None]


def once_per_subject(item_name: str, what: str) -> Check:
    """Refuse ``item_name`` for a subject that already has a live registration of it."""

    def check(ledger: Ledger, item: WorkItem, subject: str, own: str | None) -> str | None:
        if item.item != item_name:
            return None
        existing = ledger.live_reference(item_name, subject, exclude=own)
        if existing is None:
            return None
        return f"{what}: {mask_id(subject)} already has {item.name_zh} {existing}"

    return check


def spouse_not_deceased(ledger: Ledger, item: WorkItem, subject: str, own: str | None) -> str | None:
    """Public security: a deregistered (deceased) person's marital status cannot change."""
    if item.item != "household_marital_status":
        return None
    for side in ("spouse_a", "spouse_b"):
        person = item.data.get(f"payload.{side}.id_number")
        dead = person and ledger.live_reference("household_deregistration", person)
        if dead:
            return (f"{side} {mask_id(person)}: household deregistered as deceased ({dead}); "
                    "marital status cannot be updated")
    return None


CHECKS: dict[Department, tuple[Check, ...]] = {
    Department.TAX: (once_per_subject("tax_registration", "duplicate tax registration"),),
    Department.HUMAN_RESOURCES_SOCIAL_SECURITY: (
        once_per_subject("pension_stop", "pension already stopped"),),
    Department.MEDICAL_INSURANCE: (
        once_per_subject("newborn_medical_insurance", "duplicate enrolment (重复参保)"),),
    Department.PROVIDENT_FUND: (
        once_per_subject("provident_fund_retirement_withdrawal", "retirement withdrawal already paid"),),
    Department.PUBLIC_SECURITY: (spouse_not_deceased,),
    Department.COMMERCE: (once_per_subject("foreign_investment_filing", "duplicate establishment filing"),),
}


def first_refusal(checks: tuple[Check, ...], ledger: Ledger, item: WorkItem, subject: str,
                  own: str | None = None) -> str | None:
    """The reason of the first check that refuses the item, or ``None``."""
    for check in checks:
        reason = check(ledger, item, subject, own)
        if reason:
            return reason
    return None
