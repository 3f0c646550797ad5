"""Frozen plans: freeze, ledger, verify, diff and the content hash."""
