"""Small hand-written inputs for the tests."""

import csv
import io
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SAMPLES_AS_OF = "2026-11-01"

ACCOUNT_HEADER = ["Identifiant", "Civilité", "Nom", "Prénom", "E-mail", "E-mail de secours", "RPPS", "Fonction",
                  "FINESS ET", "Établissement", "Unité", "Rôles", "Statut", "Date de création", "Dernière connexion"]


def account_row(login="mdupont", finess="130000011", roles="Référent Établissement | VT PH - Référent ESMS",
                status="Actif", last_login="15/10/2026", created_on="01/01/2026", last_name=None,
                first_name="Marie", email=None, unit="Internat", function="Directrice", rpps=""):
    email = email or f"{login}@exemple.fr"
    return [login, "Mme", last_name or login.upper(), first_name, email, f"{login}.secours@exemple.fr",
            rpps, function, finess, "IME Les Calanques", unit, roles, status, created_on, last_login]


def write_csv(path: Path, rows, header=ACCOUNT_HEADER, sep=";", encoding="utf-8-sig", before: str = ""):
    buffer = io.StringIO(newline="")
    buffer.write(before)
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path
