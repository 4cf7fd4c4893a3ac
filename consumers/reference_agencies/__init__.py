"""Reference agency systems (tax, social security, medical insurance, provident fund, public
security, commerce): small but real systems of record that complete the hub's work items.

Each keeps its own SQLite register and issues its own reference numbers; each is a handler
(``agency(item) -> Completed | Rejected``) for the inbox, and :mod:`consumers.reference_agencies.http`
puts one behind a signed webhook.
"""

from consumers.reference_agencies.base import REFERENCE_PREFIXES, ReferenceAgency
from consumers.reference_agencies.ledger import Registration
from consumers.reference_agencies.roster import AGENCY_DEPARTMENTS, agency_db_path, reference_agencies

__all__ = [
    "AGENCY_DEPARTMENTS",
    "REFERENCE_PREFIXES",
    "ReferenceAgency",
    "Registration",
    "agency_db_path",
    "reference_agencies",
]
