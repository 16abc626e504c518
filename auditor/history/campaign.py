"""Where last month's campaign stands: who answered, what they decided, who is late.

Read from the history at the start of a run (the engine stays free of files):
the region's report shows it, and REV-01/REV-02 check it (see checks/campaign.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..engine.history_tables import history_table
from ..model.enums import Decision
from ..model.text import french_number, plural
from .store import History


@dataclass
class CampaignStatus:
    as_of: pd.Timestamp  # the audit whose reports were sent
    now: pd.Timestamp  # this audit's date: who is late is judged at it
    establishments: pd.DataFrame  # finess, sent_at, deadline, answered_at, answered_by, accounts, decisions
    decisions: pd.DataFrame  # finess, account, decision, comment, answered_at (latest answer of each)

    @property
    def late(self) -> pd.DataFrame:
        table = self.establishments
        return table[table["answered_at"].isna() & (pd.to_datetime(table["deadline"]) < self.now)]

    def summary(self) -> dict:
        table = self.establishments
        answered = table[table["answered_at"].notna()]
        kinds = self.decisions["decision"].value_counts()
        return {
            "sent": len(table), "answered": len(answered),
            "answered_share": round(100 * len(answered) / len(table)) if len(table) else 0,
            "accounts": int(answered["accounts"].sum()), "decided": int(answered["decisions"].sum()),
            "by_decision": {kind: int(kinds.get(kind, 0)) for kind in Decision.values()},
            "late": len(self.late),
        }

    def answered_text(self) -> str:
        """"1 établissement sur 36 a renvoyé sa revue des accès (3 %)", in French."""
        summary = self.summary()
        verb = "a renvoyé sa" if summary["answered"] <= 1 else "ont renvoyé leur"
        return (f"{plural(summary['answered'], 'établissement')} sur {french_number(summary['sent'])} {verb} revue "
                f"des accès ({summary['answered_share']}\u00a0%)")

    def engine_tables(self) -> dict[str, pd.DataFrame]:
        """The decisions and campaign tables REV-01 and REV-02 read (see engine.history_tables)."""
        decisions = history_table("decisions", self.decisions[["finess", "account", "decision", "answered_at"]]
                                  .itertuples(index=False, name=None))
        table = self.establishments
        undecided = (table["accounts"].fillna(0) - table["decisions"].fillna(0)).clip(lower=0)
        campaign = history_table("campaign", zip(table["finess"], table["sent_at"], table["deadline"],
                                                 table["answered_at"].notna(), undecided,
                                                 [self.as_of] * len(table)))
        return {"decisions": decisions, "campaign": campaign}


def last_campaign(history: History, as_of) -> CampaignStatus | None:
    """The campaign of the audit just before `as_of`, if its reports were sent."""
    previous = history.previous_date(as_of)
    if previous is None:
        return None
    establishments, decisions = history.campaign(previous)
    if establishments.empty:
        return None
    return CampaignStatus(pd.Timestamp(previous), pd.Timestamp(as_of).normalize(), establishments, decisions)
