"""Who is who across files (identities.link_people), on a few people against many accounts."""

import pandas as pd

from auditor.inputs.identities import SMALL_SIDE, STRONG_IDENTIFIERS, link_people
from auditor.model.frames import TEXT


def _people(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["rpps", "email", "name_key"]).astype(TEXT)


def test_a_few_people_are_each_linked_among_many_accounts():
    # Far more accounts than people: the accounts are narrowed to the people's identifiers first.
    accounts = _people([{"email": f"agent{n}@esms.example"} for n in range(3 * SMALL_SIDE)]
                       + [{"rpps": "10000000009", "email": "dr.martin@esms.example"},
                          {"email": "j.dupont@esms.example"}])
    staff = _people([{"rpps": "10000000009"}, {"email": "j.dupont@esms.example"},
                     {"email": "agent7@esms.example"}, {"email": "parti@esms.example"}])
    pairs = link_people(staff, accounts, identifiers=STRONG_IDENTIFIERS)
    assert sorted(map(tuple, pairs[["left", "right"]].to_numpy().tolist())) == [
        (0, 3 * SMALL_SIDE), (1, 3 * SMALL_SIDE + 1), (2, 7)]  # the one who left has no account


def test_a_different_rpps_still_vetoes_a_link_by_email_among_many_accounts():
    accounts = _people([{"email": f"agent{n}@esms.example"} for n in range(3 * SMALL_SIDE)]
                       + [{"rpps": "10000000009", "email": "accueil@esms.example"}])
    staff = _people([{"rpps": "10000000017", "email": "accueil@esms.example"}])
    assert link_people(staff, accounts, identifiers=STRONG_IDENTIFIERS).empty
