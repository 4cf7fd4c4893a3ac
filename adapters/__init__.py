"""Delivery adapters: hand a department's work items to the agency's own system.

Each adapter is a :data:`hub.domain.outcomes.Handler` — call it with a
:class:`~hub.domain.routing.WorkItem`, get ``Completed(reference=...)`` or ``Rejected(reason=...)``,
or an :class:`~adapters.common.AdapterError` when it could not deliver now (the inbox retries,
then parks the item). All are idempotent by ``item_id``, so redelivery never applies twice.

- :class:`adapters.webhook.WebhookAdapter` — signed JSON ``POST`` with ``Idempotency-Key``,
  retried with backoff; :func:`adapters.webhook.verify_signature` for the agency side.
- :class:`adapters.sql.SqlTableAdapter` — upsert into a table (SQLite or PostgreSQL).
- :class:`adapters.filedrop.FileDropAdapter` — daily JSONL and CSV files for batch agencies.

Adapters log ids and routing only, never the granted ``data``; text that comes back from an
agency is logged through :func:`adapters.common.redact` (identity numbers masked).
"""
