"""Who is who across files (identities.link_people), on a few people against many accounts."""

import numpy as np
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


def _persons(rows: list[tuple]) -> list[int]:
    from auditor.inputs.identities import people

    account, rpps, email = (pd.Series(column, dtype=TEXT) for column in zip(*rows))
    return list(people(account, rpps, email))


def test_links_are_transitive_across_accounts_and_staff_rows():
    # Her first account gives her RPPS and e-mail, her second the e-mail only, the staff file her RPPS.
    assert _persons([("lbernard", "10000000017", "lea@esms.fr"), ("lbernard2", None, "lea@esms.fr"),
                     (None, "10000000017", None), ("autre", None, "autre@esms.fr")]) == [0, 0, 0, 1]


def test_two_different_rpps_are_two_people_even_with_one_mailbox():
    # A management mailbox shared by two professionals links neither; an account without RPPS on it stays apart.
    assert _persons([("cadre1", "10000000009", "direction@esms.fr"), ("cadre2", "10000000017", "direction@esms.fr"),
                     ("accueil", None, "direction@esms.fr"), (None, "10000000017", "perso@gmail.com")]) == [0, 1, 2, 1]


def test_every_row_of_an_account_is_one_person_and_a_long_chain_is_followed():
    # d's second row by account, d-c by e-mail, c-b by RPPS, b-a by e-mail: one person, whatever the order.
    rows = [("d", None, None), ("d", None, "z@x.fr"), ("c", "10000000009", "z@x.fr"), ("b", "10000000009", "y@x.fr"),
            ("a", None, "y@x.fr"), ("f", None, None)]
    assert _persons(rows) == [0, 0, 0, 0, 0, 1]
    assert _persons(rows[::-1]) == [0, 1, 1, 1, 1, 1]


def test_rows_of_no_account_are_not_one_account():
    from auditor.inputs.identities import people

    # Account numbers as the context gives them: -1 for the staff rows, which are nobody's account.
    numbers = np.array([0, 1, -1, -1])
    rpps = pd.Series([None, None, "10000000009", "10000000017"], dtype=TEXT)
    email = pd.Series(["a@x.fr", "b@x.fr", None, None], dtype=TEXT)
    assert list(people(numbers, rpps, email)) == [0, 1, 2, 3]
