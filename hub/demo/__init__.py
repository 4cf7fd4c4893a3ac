"""``hub demo``: the seed scenarios end to end against a running stack (``make demo``)."""
