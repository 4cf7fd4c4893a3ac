"""The audit trail at the edges: the auditor that writes the chain, its intake, verification."""
