"""The HTTP API (FastAPI): how department systems and portals talk to the hub.

``app`` wires it together (``create_app``); one module per route group — ``ingest_routes``
(publish), ``case_routes``, ``facts_routes`` (the audited shared-data query), ``audit_routes``
(the subject timeline); ``responses`` holds the error body and the one table from the hub's
errors to HTTP status; ``ports`` what the API needs from a publisher; ``tokens`` the bearer
tokens (roles, expiry, revocation); ``personal_reads`` the gate and audit of every read of
personal data, ``read_limit`` its per-token rate limit; ``refusal_throttle`` the limit on audited
unauthenticated refusals; ``openapi`` the published document; ``local_server`` a loopback server
for the demo and tests.
"""
