"""Regional submissions -> one validated, audited consensus forecast."""
