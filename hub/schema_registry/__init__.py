"""The schema registry edge: the client, FULL_TRANSITIVE compatibility, provisioning the catalogue."""
