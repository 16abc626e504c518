"""The monthly campaign: each director gets their report by e-mail, their answers come back and are checked.

config (campagne.yaml) -> outbox (one message per establishment, .eml for review)
-> mailer (SMTP, with a send journal in the history: idempotent and resumable)
-> answers (the returned workbooks read back through render/review_workbook.py, recorded as decisions).
What the region's report says of last month's campaign is the history's (history/campaign.py).
"""
