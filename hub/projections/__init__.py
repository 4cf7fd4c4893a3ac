"""Read models rebuilt from the log: throw them away and replay the topics to get them back."""
