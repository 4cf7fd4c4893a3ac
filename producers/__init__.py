"""The publisher SDK a department system uses (:class:`producers.publisher.Publisher`), the
per-department pool a server uses, bulk publishing, and synthetic demo submissions."""
