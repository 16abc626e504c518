"""Month after month: the history of audits in one SQLite file, and what changed since the last one.

store (the SQLite file, schema: named migrations) -> follow_up (pure comparison)
-> recording (a run compared with the store, then recorded) -> backfill (earlier findings.json);
campaign (last month's campaign as the store keeps it, for the reports and REV-01/02).
Its settings are config/settings.py (rules/catalogue/suivi.yaml).
"""
