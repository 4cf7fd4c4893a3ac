"""``hub replay``: route a window of the event log again and send its items once more."""
