"""The consumer SDK an agency system uses (:class:`consumers.inbox.Inbox`), a reader of the
event topics, and the simulated reference agencies (:mod:`consumers.reference_agencies`)."""
