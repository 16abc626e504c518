"""Month after month: the history of audits in one SQLite file, and what changed since the last one.

settings (rules/catalogue/suivi.yaml) -> store (the SQLite file) -> follow_up (pure comparison)
-> recording (an audit result in and out of the store) -> backfill (earlier findings.json).
"""
