"""The model: the schema (one source of truth), declared output sheets, the Book protocol,
periods, findings.
"""
