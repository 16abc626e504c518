"""The fictitious region: its establishments and people, and the problems planted in them.

Each planted problem records the finding it must raise (`Region.expected`); `dirt` plants more
on the other professionals, as real exports have (see synthetic.py, the command that writes it).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import random
from dataclasses import dataclass, field

AS_OF = dt.date(2026, 11, 1)
DEPARTMENTS = ("04", "05", "06", "13", "83", "84")
CATEGORIES = {"183": "IME", "246": "ESAT", "255": "MAS", "437": "FAM", "182": "SESSAD", "382": "Foyer de vie",
              "446": "SAVS", "445": "SAMSAH"}
PLACES = ("Les Oliviers", "La Sainte-Victoire", "Les Calanques", "Le Mistral", "Les Lavandes", "Le Verdon",
          "La Durance", "Les Alpilles", "Le Luberon", "Les Cigales", "L'Estérel", "La Crau", "Le Ventoux",
          "Les Pins", "La Camargue", "Le Mercantour")
LAST_NAMES = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
              "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
              "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Giraud",
              "Olivier", "Blanc", "Guérin", "Rousseau", "Mathieu", "Clément", "Gauthier", "Perrin", "Chevalier")
FIRST_NAMES = (("Mme", "Marie"), ("Mme", "Julie"), ("Mme", "Sophie"), ("Mme", "Camille"), ("Mme", "Léa"),
               ("Mme", "Émilie"), ("Mme", "Nathalie"), ("Mme", "Hélène"), ("Mme", "Anaïs"), ("Mme", "Céline"),
               ("M.", "Thomas"), ("M.", "Nicolas"), ("M.", "Julien"), ("M.", "Jean-Pierre"), ("M.", "Mathieu"),
               ("M.", "Karim"), ("M.", "Stéphane"), ("M.", "Loïc"), ("M.", "François"), ("M.", "Rémi"))
UNITS = ("Internat", "Externat", "Accueil de jour", "Unité autisme", "Atelier", "Hébergement")

ROR_REFERENT = "Référent Établissement"
VT_REFERENT = "IAM - MSPH - Référent ESMS (IAM)"
NOTIFICATIONS = "IAM - MSPH - ESMS - Gestion des notif. (Nominatif) (IAM)"
DASHBOARD_ANONYMOUS = "IAM - MSPH - ESMS - Consulter les tdb (Anonyme) (IAM)"
STATISTICS = "IAM - MSPH - Statistiques ESMS (IAM)"

# (function as exports write it, roles, has an RPPS)
STAFF_PROFILES = (
    ("Éducateur spécialisé", [NOTIFICATIONS], False),
    ("Educ spé", [NOTIFICATIONS], False),
    ("Moniteur-éducateur", [NOTIFICATIONS], False),
    ("Infirmière", [NOTIFICATIONS], True),
    ("Psychologue", [NOTIFICATIONS], True),
    ("Secrétaire", [DASHBOARD_ANONYMOUS, STATISTICS], False),
    ("Assistante de service social", [NOTIFICATIONS], False),
)

# One planted problem per problem establishment; the others are clean.
PROBLEMS = ("one_referent", "no_account", "ror_only_referent", "vt_only_referent", "inactive_account",
            "never_logged_in", "staff_elsewhere", "staff_unknown", "never_activated", "blocked", "no_unit",
            "no_role", "missing_fields", "backup_same", "duplicate", "educ_medical", "borderline_medical",
            "legacy_role", "unknown_function", "closed_with_accounts", "bad_finess", "unit_missing",
            "left_unarchived", "referent_twice", "namesakes", "folded_names", "shared_mailbox", "legal_entity")
CYCLE = 40  # past the first establishments, len(PROBLEMS) in CYCLE carry a problem
# Problems of one professional, which `dirt` plants on others than the referents and people[3].
PERSONAL_PROBLEMS = ("inactive_account", "never_logged_in", "never_activated", "blocked", "no_unit", "no_role",
                     "missing_fields", "backup_same", "educ_medical", "legacy_role", "unknown_function",
                     "left_unarchived")


def problem_of(index: int) -> str | None:
    """The first establishments carry each problem once; then some in each CYCLE carry one, in turn."""
    if index < len(PROBLEMS):
        return PROBLEMS[index]
    return PROBLEMS[index % CYCLE] if index % CYCLE < len(PROBLEMS) else None


def luhn_key(digits: str) -> str:
    total = 0
    for position, char in enumerate(reversed(digits + "0")):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


@dataclass
class Person:
    login: str
    civility: str
    last_name: str
    first_name: str
    function: str
    roles: list[str]
    rpps: str = ""
    status: str = "Actif"
    created_on: dt.date = dt.date(2024, 1, 15)
    last_login: dt.date | None = None
    units: list[str] = field(default_factory=list)
    email: str = ""
    backup_email: str = ""
    off_staff_list: bool = False  # left, but the account stays active (ATT-04)
    staff_name: str = ""  # the staff file lists them by this name (written otherwise than the account)

    def __post_init__(self):
        self.email = self.email or f"{self.login}@esms-paca.fr"
        self.backup_email = self.backup_email or f"{self.login}.perso@exemple.fr"

    @property
    def display(self) -> str:
        return f"{self.last_name.upper()} {self.first_name}"


@dataclass
class Region:
    establishments: list[dict] = field(default_factory=list)
    accounts: list[dict] = field(default_factory=list)
    staff: list[dict] = field(default_factory=list)
    expected: list[dict] = field(default_factory=list)
    # For the following months: each login's account rows, and who carries each planted problem.
    rows_by_login: dict[str, list[dict]] = field(default_factory=dict)
    planted: dict[str, tuple[str, Person]] = field(default_factory=dict)
    clean_people: list[tuple[str, Person]] = field(default_factory=list)
    gone: list[dict] = field(default_factory=list)  # with months: last month's findings resolved or unverified


class _Generator:
    def __init__(self, seed: int):
        self.random = random.Random(seed)
        self.logins: set[str] = set()
        self.suffixes: dict[str, int] = {}
        self.rpps_counter = 0

    def unique_login(self, base: str) -> str:
        # A counter per base: a national region has a thousand "mmartin".
        login, suffix = base, self.suffixes.get(base, 1)
        while login in self.logins:
            suffix += 1
            login = f"{base}{suffix}"
        self.suffixes[base] = suffix
        self.logins.add(login)
        return login

    def new_rpps(self) -> str:
        self.rpps_counter += 1
        digits = f"1{self.rpps_counter:09d}"
        return digits + luhn_key(digits)

    def person(self, function: str, roles: list[str], with_rpps: bool, units: list[str],
               colleagues: list[Person] = ()) -> Person:
        """A new professional, whose name differs from their colleagues' (homonyms look like duplicates)."""
        taken = {(p.last_name, p.first_name) for p in colleagues}
        civility, first = self.random.choice(FIRST_NAMES)
        last = self.random.choice(LAST_NAMES)
        while (last, first) in taken:
            civility, first = self.random.choice(FIRST_NAMES)
            last = self.random.choice(LAST_NAMES)
        base = f"{first[0]}{last}".lower()
        login = self.unique_login(base.translate(str.maketrans("éèêëàâîïôûüçÉ", "eeeeaaiiouucE"))
                                  .replace("'", "").replace(" ", ""))
        rpps = self.new_rpps() if with_rpps else ""
        recent = AS_OF - dt.timedelta(days=self.random.randint(1, 90))
        created = AS_OF - dt.timedelta(days=self.random.randint(200, 1500))
        return Person(login, civility, last, first, function, list(roles), rpps, "Actif", created, recent,
                      self.random.sample(units, k=min(len(units), self.random.choice((1, 1, 2)))))


def generate(n_establishments: int, seed: int = 7, staff: tuple[int, int] = (4, 9), dirt: float = 0.0) -> Region:
    """A region of `n_establishments`, each with 2 referents, `staff` (min, max) professionals and a leaver.

    `dirt`: the share of the professionals past people[4] who carry a problem of their own (see
    PERSONAL_PROBLEMS), in establishments whose planted problem is not about all of their accounts.
    """
    gen = _Generator(seed)
    region = Region()
    people_by_finess: dict[str, list[Person]] = {}
    for index in range(n_establishments):
        department = DEPARTMENTS[index % len(DEPARTMENTS)]
        category = list(CATEGORIES)[index % len(CATEGORIES)]
        digits = f"{department}{index + 1:06d}"
        finess = digits + luhn_key(digits)
        ej_digits = f"{department}{(index // 3) + 500000:06d}"
        name = f"{CATEGORIES[category]} {PLACES[index % len(PLACES)]}"
        if index >= len(PLACES):
            name += f" {index // len(PLACES) + 1}"
        problem = problem_of(index)
        closed = index == n_establishments - 1 and n_establishments > len(PROBLEMS) + 2
        closed_on = dt.date(2026, 6, 30) if closed else None
        if problem == "closed_with_accounts":
            closed_on = dt.date(2026, 9, 30)
        region.establishments.append({
            "finess": finess, "name": name, "finess_ej": ej_digits + luhn_key(ej_digits), "category": category,
            "department": department, "closed_on": closed_on,
            "director_email": f"direction.{finess}@esms-paca.fr",
        })
        if problem == "no_account" or closed:
            if problem == "no_account":
                region.expected.append({"rule": "REF-01", "finess": finess, "subject": name})
            continue
        units = gen.random.sample(UNITS, k=gen.random.randint(1, 3))
        people: list[Person] = []
        for function in ("Directrice", "Chef de service"):
            people.append(gen.person(function, [ROR_REFERENT, VT_REFERENT, NOTIFICATIONS], False, units, people))
        for _ in range(gen.random.randint(*staff)):
            function, roles, with_rpps = gen.random.choice(STAFF_PROFILES)
            people.append(gen.person(function, roles, with_rpps, units, people))
        departed = gen.person("Éducateur spécialisé", [NOTIFICATIONS], False, units, people)
        departed.status, departed.last_login = "Archivé", AS_OF - dt.timedelta(days=700)
        people.append(departed)
        others = people[5:-1]  # not the leaver, last until _plant adds a twin
        second_finess = _plant(problem, finess, name, people, region, gen)
        if dirt and problem not in ("closed_with_accounts", "bad_finess", "legal_entity"):
            for person in others:
                if gen.random.random() < dirt:
                    _plant(gen.random.choice(PERSONAL_PROBLEMS), finess, name, people, region, gen, person)
        if problem:
            region.planted[problem] = (finess, people[3])
        else:
            region.clean_people.append((finess, people[4]))
        people_by_finess[finess] = people
        for person in people:
            _account_rows(region, person, finess, name, gen)
        if second_finess:
            _account_rows(region, people[3], second_finess, name, gen)

    _staff_file(region, people_by_finess, gen)
    return region


LEGACY_MEDICAL = "Handicap - ESMS Médical, Paramédical, Psychologue"


# A professional's problem planted by changing fields: the changes, and the rules that must find it.
_PERSONAL_PROBLEMS = {
    "never_logged_in": ({"last_login": None, "created_on": AS_OF - dt.timedelta(days=400)}, ("ACC-01", "ACC-02")),
    "never_activated": ({"last_login": None, "created_on": AS_OF - dt.timedelta(days=60)}, ("ACC-02",)),
    "blocked": ({"status": "Bloqué"}, ("ACC-03",)),
    "no_unit": ({"units": [""]}, ("ATT-02",)),
    "no_role": ({"roles": []}, ("ATT-03",)),
    "missing_fields": ({"civility": "", "function": ""}, ("DAT-01",)),
    "educ_medical": ({"function": "Éducateur spécialisé", "roles": [LEGACY_MEDICAL]}, ("DRT-01", "DRT-02")),
    "borderline_medical": ({"function": "Aide-soignante", "roles": [LEGACY_MEDICAL]}, ("DRT-01", "DRT-02")),
    "legacy_role": ({"roles": ["Handicap - ESMS"]}, ("DRT-02",)),
    # DRT-03 is about nominative or medical rights
    "unknown_function": ({"function": "Chargée de mission qualité", "roles": [NOTIFICATIONS]}, ("DRT-03",)),
    "left_unarchived": ({"off_staff_list": True}, ("ATT-04",)),
}


def _plant(problem, finess, name, people, region, gen: _Generator, person: Person | None = None) -> str | None:
    """Change the people of one establishment so that it carries `problem`; record what to expect.

    A professional's problem is planted on `person` (people[3] unless given). Returns a second
    FINESS the establishment's rows are also written under (bad_finess, legal_entity).
    """
    person = person or people[3]

    def expect_on(rule, subject=person.display, where=finess):
        region.expected.append({"rule": rule, "finess": where, "subject": subject})

    if problem in _PERSONAL_PROBLEMS:
        changes, rules = _PERSONAL_PROBLEMS[problem]
        for name_of_field, value in changes.items():
            setattr(person, name_of_field, copy.copy(value))
        for rule in rules:
            expect_on(rule)
    elif problem in ("one_referent", "ror_only_referent", "vt_only_referent"):
        _plant_referent(problem, name, people, expect_on)
    elif problem == "inactive_account":
        person.last_login = AS_OF - dt.timedelta(days=gen.random.randint(200, 500))
        expect_on("ACC-01")
    elif problem == "backup_same":
        person.backup_email = person.email.upper()
        expect_on("DAT-02")
    elif problem == "duplicate":
        twin = dataclasses.replace(person, login=gen.unique_login(person.login), email=person.email,
                                   backup_email=person.login + ".autre@exemple.fr")
        people.append(twin)
        expect_on("DAT-03")
    elif problem == "closed_with_accounts":
        for colleague in people:
            if colleague.status == "Actif":
                expect_on("ETB-01", colleague.display)
    elif problem in _IDENTITY_PROBLEMS:
        _IDENTITY_PROBLEMS[problem](finess, name, people, gen, expect_on)
    elif problem in ("bad_finess", "legal_entity"):
        # Rows under a mistyped FINESS, or the legal entity's (EJ): not an establishment, no REF-01 for it.
        other = (finess[:8] + str((int(luhn_key(finess[:8])) + 1) % 10) if problem == "bad_finess"
                 else region.establishments[-1]["finess_ej"])
        expect_on("ETB-02", name, other)
        return other
    return None


def _referent_twice(finess, name, people, gen, expect_on) -> None:
    """The second referent is the first's second account: her RPPS on one, only her e-mail (another case)
    on the other. One person: one referent (REF-01), and a duplicate (DAT-03)."""
    first = people[0]
    first.rpps = gen.new_rpps()
    people[1] = dataclasses.replace(first, login=gen.unique_login(first.login), rpps="", email=first.email.upper(),
                                    backup_email=first.login + ".autre@exemple.fr")
    expect_on("REF-01", name)
    expect_on("DAT-03", first.display)


def _namesakes(finess, name, people, gen, expect_on) -> None:
    """Two nurses of one name, each her own RPPS: two people (no DAT-03, no « compte probable »)."""
    nurse = people[3]
    nurse.function, nurse.roles, nurse.rpps = "Infirmière", [NOTIFICATIONS], nurse.rpps or gen.new_rpps()
    people.insert(4, dataclasses.replace(nurse, login=gen.unique_login(nurse.login), rpps=gen.new_rpps(),
                                         email="", backup_email=""))  # their own addresses (__post_init__)


# An account's name, and the same name as a staff file writes it: one person (no ATT-01, no ATT-04).
FOLDED_NAMES = (("Œillet", "OEILLET"), ("De la Tour", "DELATOUR"), ("O'Neil", "ONEIL"),
                ("Martin-Durand", "MARTIN DURAND"))


def _folded_names(finess, name, people, gen, expect_on) -> None:
    for person, (account_name, staff_name) in zip(people[2:], FOLDED_NAMES):
        person.last_name, person.staff_name, person.rpps = account_name, staff_name, ""


def _shared_mailbox(finess, name, people, gen, expect_on) -> None:
    """Two professionals of different RPPS write from one management mailbox: two people all the same."""
    for person in people[3:5]:
        person.rpps = person.rpps or gen.new_rpps()
        person.email = f"secretariat.{finess}@esms-paca.fr"


_IDENTITY_PROBLEMS = {"referent_twice": _referent_twice, "namesakes": _namesakes, "folded_names": _folded_names,
                      "shared_mailbox": _shared_mailbox}


def _plant_referent(problem: str, name: str, people: list[Person], expect_on) -> None:
    """One referent too few (REF-01), or a referent holding one of the two referent roles only (REF-02)."""
    if problem == "one_referent":
        people[1].roles = [NOTIFICATIONS]
        expect_on("REF-01", name)
    elif problem == "ror_only_referent":
        people[1].roles = [ROR_REFERENT, NOTIFICATIONS]
        expect_on("REF-02", people[1].display)
    else:
        people[2].roles = [VT_REFERENT, *people[2].roles]
        expect_on("REF-02", people[2].display)


def _account_rows(region: Region, person: Person, finess: str, name: str, gen: _Generator) -> None:
    # Exports write FINESS with spaces now and then ("13 000 001 1").
    shown_finess = f"{finess[:2]} {finess[2:5]} {finess[5:8]} {finess[8]}" if gen.random.random() < 0.1 else finess
    separator = gen.random.choice((" | ", " | ", "\n"))
    for unit in person.units:
        region.rows_by_login.setdefault(person.login, [])
        region.accounts.append({
            "Identifiant": person.login, "Civilité": person.civility, "Nom": person.last_name.upper(),
            "Prénom": person.first_name, "Adresse mail": person.email,
            "E-mail de secours": person.backup_email, "N° RPPS": person.rpps,
            "Fonction": person.function, "N° FINESS": shown_finess, "Établissement": name, "Unité": unit,
            "Rôles": separator.join(person.roles), "Statut": person.status,
            "Date de création": person.created_on.strftime("%d/%m/%Y"),
            "Dernière connexion": person.last_login.strftime("%d/%m/%Y") if person.last_login else "",
        })
        region.rows_by_login[person.login].append(region.accounts[-1])


def _staff_file(region: Region, people_by_finess: dict[str, list[Person]], gen: _Generator) -> None:
    """Where people work: by RPPS when they have one, else e-mail, else name (written differently)."""
    problems = {e["finess"]: problem_of(i) for i, e in enumerate(region.establishments)}
    for finess, people in people_by_finess.items():
        for person in people:
            if person.status == "Archivé":  # who works there: blocked colleagues too, not those who left
                continue
            if person.off_staff_list:
                continue
            unit = person.units[0] if person.units and person.units[0] else ""
            if problems.get(finess) == "unit_missing" and person is people[3]:
                unit = next(u for u in UNITS if u not in person.units)  # listed in a unit not on the account
                region.expected.append({"rule": "ATT-05", "finess": finess, "subject": person.display})
            row = {"RPPS": person.rpps, "Nom": "", "Prénom": "", "E-mail": "", "FINESS d'exercice": finess,
                   "Fonction": person.function, "Unité": unit}
            way = gen.random.random()
            if person.staff_name:
                row["Nom"], row["Prénom"] = person.staff_name, person.first_name
            elif person.rpps:
                pass
            elif way < 0.5:
                row["E-mail"] = person.email.upper() if way < 0.1 else person.email
            else:
                row["Nom"], row["Prénom"] = person.last_name.title(), person.first_name.lower()
            region.staff.append(row)

    finess_list = list(people_by_finess)
    for finess in finess_list:
        problem = problems.get(finess)
        if problem == "staff_elsewhere":
            # Works here too, but their account is attached to another establishment only.
            others = [f for f in finess_list if f != finess]
            other = next((f for f in others if problems.get(f) is None), others[0])  # a clean one if any
            person = people_by_finess[other][4]
            region.staff.append({"RPPS": "", "Nom": "", "Prénom": "", "E-mail": person.email,
                                 "FINESS d'exercice": finess, "Fonction": person.function, "Unité": ""})
            region.expected.append({"rule": "ATT-01", "finess": finess, "subject": person.display})
        elif problem in ("staff_unknown", "closed_with_accounts"):
            # Nobody is to be attached to a closed establishment: its newcomer makes no ATT-01.
            newcomer = gen.person("Orthophoniste", [], True, ["Externat"])
            region.staff.append({"RPPS": newcomer.rpps, "Nom": newcomer.last_name, "Prénom": newcomer.first_name,
                                 "E-mail": "", "FINESS d'exercice": finess, "Fonction": newcomer.function,
                                 "Unité": ""})
            if problem == "staff_unknown":
                region.expected.append({"rule": "ATT-01", "finess": finess, "subject": newcomer.display})
