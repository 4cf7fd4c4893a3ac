"""Simulated counter-parties, not part of the SDK: stand-ins for the agencies' own systems
(tax, social security, medical insurance, provident fund, public security, commerce), used by
``make demo``, the end-to-end tests and ``hub agencies run``. A real agency writes its own
handler (or uses an adapter) on :class:`consumers.inbox.Inbox`; these show what one does.

They are small but real systems of record that complete the hub's work items.

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
