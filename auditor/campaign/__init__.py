"""The monthly campaign: each director gets their report by e-mail, their answers come back and are checked.

config (campagne.yaml) -> outbox (one message per establishment, .eml for review)
-> mailer (SMTP, with a send journal in the history: idempotent and resumable)
-> answers (the returned workbooks read back, checked, recorded as decisions)
-> status (what the region's report says of last month's campaign; REV-01/02 use it).
"""
