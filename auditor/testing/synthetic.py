"""Deterministic synthetic exports: a fictitious region with known problems.

Used for `samples/` (and by the benchmarks at any size). Every establishment
is either clean or carries exactly one planted problem, and the generator
writes the findings it expects (`attendu.json`), so that the end-to-end tests
compare the audit with what was planted, not with what the engine computed.

With `--dirt`, a share of the other professionals carry a problem of their own
too (an old login, a legacy role, a missing e-mail...), as in real exports,
where an establishment has about ten findings: the benchmarks measure on such
data, and those findings are in `attendu.json` as well.

    python -m auditor.testing.synthetic --establishments 36 --seed 7 --out samples
    python -m auditor.testing.synthetic --establishments 40000 --staff 12 24 --dirt 0.4 --out national   # ~1M rows
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import datetime as dt
import json
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook

from ..cli.french_args import FrenchParser
from ..inputs.finess_extract import FIELDS as _EXTRACT_FIELDS
from ..model.enums import Status
from ..model.issues import AuditError

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
            "left_unarchived")
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
        rpps = ""
        if with_rpps:
            self.rpps_counter += 1
            digits = f"1{self.rpps_counter:09d}"
            rpps = digits + luhn_key(digits)
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
        if dirt and problem not in ("closed_with_accounts", "bad_finess"):
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


def _plant(problem, finess, name, people, region, gen: _Generator, person: Person | None = None) -> str | None:
    """Change the people of one establishment so that it carries `problem`; record what to expect.

    A professional's problem is planted on `person` (people[3] unless given). Returns a second
    FINESS the establishment's rows are also written under (bad_finess).
    """
    expect = region.expected
    person = person or people[3]

    def expect_on(rule, subject=person.display, where=finess):
        expect.append({"rule": rule, "finess": where, "subject": subject})
    if problem == "one_referent":
        people[1].roles = [NOTIFICATIONS]
        expect_on("REF-01", name)
    elif problem == "ror_only_referent":
        people[1].roles = [ROR_REFERENT, NOTIFICATIONS]
        expect_on("REF-02", people[1].display)
    elif problem == "vt_only_referent":
        people[2].roles = [VT_REFERENT, *people[2].roles]
        expect_on("REF-02", people[2].display)
    elif problem == "inactive_account":
        person.last_login = AS_OF - dt.timedelta(days=gen.random.randint(200, 500))
        expect_on("ACC-01")
    elif problem == "never_logged_in":
        person.last_login = None
        person.created_on = AS_OF - dt.timedelta(days=400)
        expect_on("ACC-01")
        expect_on("ACC-02")
    elif problem == "never_activated":
        person.last_login, person.created_on = None, AS_OF - dt.timedelta(days=60)
        expect_on("ACC-02")
    elif problem == "blocked":
        person.status = "Bloqué"
        expect_on("ACC-03")
    elif problem == "no_unit":
        person.units = [""]
        expect_on("ATT-02")
    elif problem == "no_role":
        person.roles = []
        expect_on("ATT-03")
    elif problem == "missing_fields":
        person.civility, person.function = "", ""
        expect_on("DAT-01")
    elif problem == "backup_same":
        person.backup_email = person.email.upper()
        expect_on("DAT-02")
    elif problem == "duplicate":
        twin = dataclasses.replace(person, login=gen.unique_login(person.login), email=person.email,
                                   backup_email=person.login + ".autre@exemple.fr")
        people.append(twin)
        expect_on("DAT-03")
    elif problem in ("educ_medical", "borderline_medical"):
        person.function = "Éducateur spécialisé" if problem == "educ_medical" else "Aide-soignante"
        person.roles = [LEGACY_MEDICAL]
        expect_on("DRT-01")
        expect_on("DRT-02")
    elif problem == "legacy_role":
        person.roles = ["Handicap - ESMS"]
        expect_on("DRT-02")
    elif problem == "unknown_function":
        person.function = "Chargée de mission qualité"
        person.roles = [NOTIFICATIONS]  # DRT-03 is about nominative or medical rights
        expect_on("DRT-03")
    elif problem == "closed_with_accounts":
        for colleague in people:
            if colleague.status == "Actif":
                expect_on("ETB-01", colleague.display)
    elif problem == "left_unarchived":
        person.off_staff_list = True
        expect_on("ATT-04")
    elif problem == "bad_finess":
        digits = finess[:8]
        wrong = digits + str((int(luhn_key(digits)) + 1) % 10)
        expect_on("ETB-02", name, wrong)  # a typing error on rows, not an establishment: no REF-01 for it
        return wrong
    return None


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
            if person.rpps:
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
        elif problem == "staff_unknown":
            newcomer = gen.person("Orthophoniste", [], True, ["Externat"])
            region.staff.append({"RPPS": newcomer.rpps, "Nom": newcomer.last_name, "Prénom": newcomer.first_name,
                                 "E-mail": "", "FINESS d'exercice": finess, "Fonction": newcomer.function,
                                 "Unité": ""})
            region.expected.append({"rule": "ATT-01", "finess": finess, "subject": newcomer.display})


NEW, PERSISTING, RETURNING, RESOLVED, UNVERIFIED = Status.values()


def monthly_exports(region: Region, months: int) -> list[tuple[dt.date, Region]]:
    """The region's exports over `months` consecutive months from AS_OF, with the changes planted.

    Month 2: the blocked professional is helped (ACC-03 résolu), a backup e-mail is fixed
    (DAT-02 résolu), the inactive professional left and their account is archived (ACC-01
    résolu), a professional of a clean establishment stops logging in (ACC-01 nouveau), and
    the establishment with a legacy role is missing from every export (its findings: non
    vérifié). Month 3: the professional is blocked again (ACC-03 réapparu). Each month's
    `expected` gives every finding with its status, and `gone` the previous month's findings
    that are resolved or unverified.
    """
    current = copy.deepcopy(region)
    for entry in current.expected:
        entry["status"] = NEW
    snapshots = [(AS_OF, current)]
    for month in range(1, months):
        current = copy.deepcopy(current)
        current.expected = [dict(e, status=PERSISTING) for e in current.expected]
        current.gone = []
        _MONTHLY_CHANGES.get(month, lambda region: None)(current)
        shift = AS_OF.month - 1 + month
        snapshots.append((dt.date(AS_OF.year + shift // 12, shift % 12 + 1, 1), current))
    return snapshots


def _set(region: Region, person: Person, **columns) -> None:
    for row in region.rows_by_login[person.login]:
        row.update(columns)


def _settle(region: Region, rule: str, finess: str, subject: str, status: str) -> None:
    """Move an expected finding to the gone list, as resolved or unverified."""
    entry = next(e for e in region.expected if (e["rule"], e["finess"], e["subject"]) == (rule, finess, subject))
    region.expected.remove(entry)
    region.gone.append(dict(entry, status=status))


def _second_month(region: Region) -> None:
    finess, person = region.planted["blocked"]
    _set(region, person, Statut="Actif")
    _settle(region, "ACC-03", finess, person.display, RESOLVED)
    finess, person = region.planted["backup_same"]
    _set(region, person, **{"E-mail de secours": f"{person.login}.secours@exemple.fr"})
    _settle(region, "DAT-02", finess, person.display, RESOLVED)
    finess, leaver = region.planted["inactive_account"]
    _set(region, leaver, Statut="Archivé")
    leaver_name = (leaver.last_name.upper(), leaver.first_name.lower())
    region.staff = [row for row in region.staff if row["E-mail"].lower() != leaver.email
                    and (row["Nom"].upper(), row["Prénom"].lower()) != leaver_name
                    and not (leaver.rpps and row["RPPS"] == leaver.rpps)]
    _settle(region, "ACC-01", finess, leaver.display, RESOLVED)
    finess, person = region.clean_people[-1]
    _set(region, person, **{"Dernière connexion": (AS_OF - dt.timedelta(days=300)).strftime("%d/%m/%Y")})
    region.expected.append({"rule": "ACC-01", "finess": finess, "subject": person.display, "status": NEW})
    missing, _ = region.planted["legacy_role"]
    region.accounts = [row for row in region.accounts if row["N° FINESS"].replace(" ", "") != missing]
    region.staff = [row for row in region.staff if row["FINESS d'exercice"] != missing]
    region.establishments = [e for e in region.establishments if e["finess"] != missing]
    for entry in [e for e in region.expected if e["finess"] == missing]:
        _settle(region, entry["rule"], missing, entry["subject"], UNVERIFIED)


def _third_month(region: Region) -> None:
    finess, person = region.planted["blocked"]
    _set(region, person, Statut="Bloqué")
    region.expected.append({"rule": "ACC-03", "finess": finess, "subject": person.display, "status": RETURNING})


_MONTHLY_CHANGES = {1: _second_month, 2: _third_month}


def _write_csv(path: Path, rows: list[dict], encoding: str, separator: str) -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=separator)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_region(region: Region, out: Path, accounts_xlsx: bool = False, as_of: dt.date = AS_OF,
                 gone: bool = False) -> list[Path]:
    """The exports as a back office writes them: accounts CSV cp1252 ';' (or XLSX), referential XLSX,
    staff CSV UTF-8 ','."""
    out.mkdir(parents=True, exist_ok=True)
    if accounts_xlsx:
        accounts = out / "comptes.xlsx"
        book = Workbook(write_only=True)
        sheet = book.create_sheet("Comptes")
        sheet.append(list(region.accounts[0]))
        for row in region.accounts:
            sheet.append(list(row.values()))
        book.save(accounts)
    else:
        accounts = _write_csv(out / "comptes.csv", region.accounts, "cp1252", ";")

    referential = out / "etablissements.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Référentiel"
    sheet.append(["N° FINESS ET", "Raison sociale", "FINESS EJ", "Catégorie", "Département", "Date de fermeture",
                  "E-mail du directeur"])
    for e in region.establishments:
        sheet.append([e["finess"], e["name"], e["finess_ej"], e["category"], e["department"], e["closed_on"],
                      e["director_email"]])
    for row in sheet.iter_rows(min_row=2, min_col=6, max_col=6):
        row[0].number_format = "DD/MM/YYYY"
    workbook.save(referential)

    staff = _write_csv(out / "personnels.csv", region.staff, "utf-8-sig", ",")

    write_finess_extract(region, out / "referentiels" / EXTRACT_NAME)
    activities, planted = directory_rows(region)
    write_rpps_directory(activities, out / "referentiels" / DIRECTORY_NAME)
    (out / "referentiels" / "attendu-annuaire.json").write_text(
        json.dumps({"findings": planted}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    expected = out / "attendu.json"
    planted = {"as_of": as_of.isoformat(), "findings": region.expected}
    if gone:
        planted["gone"] = region.gone
    expected.write_text(json.dumps(planted, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return [accounts, referential, staff, expected]


EXTRACT_NAME = "etalab-cs1100507-stock-20261101-0400.csv"
# Establishments of the FINESS file that are not ESMS for disabled people, and one out of the region.
_OTHER_ESTABLISHMENTS = (("500", "EHPAD Les Mimosas", "13"), ("355", "Centre hospitalier de Digne", "04"),
                         ("620", "Pharmacie du Port", "83"), ("183", "IME de Paris", "75"))


def finess_extract_rows(region: Region) -> list[list[str]]:
    """The region as the national FINESS extract lists it: open establishments only (31 fields each),
    plus establishments of other categories and one of another department."""
    rows = []
    others = [{"finess": f"{dep}{9000 + n:06d}", "name": name, "category": category, "department": dep,
               "closed_on": None} for n, (category, name, dep) in enumerate(_OTHER_ESTABLISHMENTS)]
    for e in [*region.establishments, *others]:
        if e["closed_on"] is not None and e["closed_on"] <= AS_OF:
            continue  # the extract lists open establishments
        digits = e["finess"][:8]
        finess = digits + luhn_key(digits)
        fields = {"nofinesset": finess, "nofinessej": e.get("finess_ej", ""), "rs": e["name"][:38].upper(),
                  "rslongue": e["name"], "commune": "MARSEILLE", "departement": e["department"],
                  "libdepartement": "", "categetab": e["category"], "libcategetab": "",
                  "dateouv": "2001-09-01", "datemaj": "2026-10-15"}
        rows.append([fields.get(name, "") for name in _EXTRACT_FIELDS])
    return rows


def write_finess_extract(region: Region, path: Path, form: str = "stock") -> Path:
    """The extract in one of its two published forms: "stock" (etalab, no header, geolocation rows
    after the establishments) or "header" (a header line, no geolocation)."""
    rows = finess_extract_rows(region)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="latin-1", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        if form == "stock":
            writer.writerow(["finess", "etalab", len(rows), "2026-11-01"])
            writer.writerows(["structureet", *row] for row in rows)
            writer.writerows(["geolocalisation", row[0], "893000.1", "6247000.2", "1,ATLASANTE,100,IGN,BD_ADRESSE",
                              "2026-10-15"] for row in rows)
        else:
            writer.writerow(_EXTRACT_FIELDS)
            writer.writerows(rows)
    return path


DIRECTORY_NAME = "PS_LibreAcces_Personne_activite_202611010400.txt"
DIRECTORY_HEADER = (
    "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Code civilité d'exercice|"
    "Libellé civilité d'exercice|Code civilité|Libellé civilité|Nom d'exercice|Prénom d'exercice|Code profession|"
    "Libellé profession|Code catégorie professionnelle|Libellé catégorie professionnelle|Code type savoir-faire|"
    "Libellé type savoir-faire|Code savoir-faire|Libellé savoir-faire|Code mode exercice|Libellé mode exercice|"
    "Numéro SIRET site|Numéro SIREN site|Numéro FINESS site|Numéro FINESS établissement juridique|"
    "Identifiant technique de la structure|Raison sociale site|Enseigne commerciale site|"
    "Code postal (coord. structure)|Code commune (coord. structure)|Libellé commune (coord. structure)|"
    "Code Département (structure)|Libellé Département (structure)|Code secteur d'activité|"
    "Libellé secteur d'activité|Code rôle|Libellé rôle|").split("|")
_PROFESSIONS = {"Infirmière": ("60", "Infirmier"), "Psychologue": ("93", "Psychologue"),
                "Orthophoniste": ("91", "Orthophoniste")}


def directory_rows(region: Region, plant: bool = True) -> tuple[list[dict], list[dict]]:
    """The RPPS directory's activities of the region's health professionals, and what it plants.

    Planted (with `plant`): a professional also working in a clean establishment where they have no
    account (ATT-01), one whose RPPS is a masseur-kinésithérapeute's while the account says
    "Infirmière" (DRT-04), and one RPPS left out of the directory (DAT-04).
    """
    people = {}
    for row in region.accounts:
        if row["N° RPPS"] and row["Statut"] != "Archivé":
            people.setdefault(row["N° RPPS"], (row, row["N° FINESS"].replace(" ", "")))
    activities, expected = [], []
    clean = [e["finess"] for i, e in enumerate(region.establishments)
             if problem_of(i) is None and e["closed_on"] is None]
    order = sorted(people)
    unknown = order[0] if plant else None
    nurse = next((r for r in order[1:] if people[r][0]["Fonction"] == "Infirmière"), None) if plant else None
    travelling = next((r for r in order[1:] if r != nurse), None) if plant and clean else None
    for rpps in order:
        row, finess = people[rpps]
        code, label = _PROFESSIONS.get(row["Fonction"], ("60", "Infirmier"))
        display = f"{row['Nom'].upper()} {row['Prénom']}"
        if rpps == unknown:
            expected.append({"rule": "DAT-04", "finess": finess, "subject": display})
            continue
        if rpps == nurse:
            code, label = "70", "Masseur-Kinésithérapeute"
            expected.append({"rule": "DRT-04", "finess": finess, "subject": display})
        places = [finess]
        if rpps == travelling:
            places.append(next(f for f in clean if f != finess))
            expected.append({"rule": "ATT-01", "finess": places[1], "subject": display})
        for place in places:
            activities.append({"Type d'identifiant PP": "8", "Identifiant PP": rpps,
                               "Identification nationale PP": "8" + rpps, "Nom d'exercice": row["Nom"],
                               "Prénom d'exercice": row["Prénom"], "Code profession": code,
                               "Libellé profession": label, "Numéro FINESS site": place,
                               "Code mode exercice": "S", "Libellé mode exercice": "Salarié"})
    return activities, expected


def write_rpps_directory(activities: list[dict], path: Path) -> Path:
    """The directory as published: UTF-8, "|", a header, a trailing "|" on each line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("|".join(DIRECTORY_HEADER) + "\n")
        for activity in activities:
            handle.write("|".join(activity.get(name, "") for name in DIRECTORY_HEADER) + "\n")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = FrenchParser(prog="python -m auditor.testing.synthetic",
                          description="Génère des exports synthétiques (région fictive) et la liste des "
                          "constats qui y sont plantés (attendu.json).")
    parser.add_argument("--establishments", type=int, default=30, metavar="N", help="nombre d'établissements")
    parser.add_argument("--seed", type=int, default=7, metavar="GRAINE", help="graine du générateur")
    parser.add_argument("--out", type=Path, required=True, metavar="DOSSIER", help="dossier de sortie")
    parser.add_argument("--staff", type=int, nargs=2, default=(4, 9), metavar=("MIN", "MAX"),
                        help="professionnels par établissement, en plus des 2 référents (défaut : 4 9)")
    parser.add_argument("--dirt", type=float, default=0.0, metavar="PART",
                        help="part des autres professionnels qui ont aussi un problème, comme dans les exports "
                        "réels (défaut : 0, un problème au plus par établissement)")
    parser.add_argument("--accounts-xlsx", action="store_true", help="écrire les comptes en XLSX plutôt qu'en CSV")
    parser.add_argument("--months", type=int, default=1, metavar="N",
                        help="N exports mensuels successifs (un dossier AAAA-MM-JJ par mois) avec des constats "
                        "résolus, nouveaux, réapparus et un établissement absent (défaut : 1, un seul export)")
    try:
        args = parser.parse_args(argv)
    except AuditError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    region = generate(args.establishments, args.seed, tuple(args.staff), args.dirt)
    if args.months <= 1:
        written = write_region(region, args.out, args.accounts_xlsx)
    else:
        written = [path for as_of, month in monthly_exports(region, args.months)
                   for path in write_region(month, args.out / as_of.isoformat(), args.accounts_xlsx, as_of, True)]
    for path in written:
        print(path)


if __name__ == "__main__":
    main()
