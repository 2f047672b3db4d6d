"""The vocabulary of `queues.yaml`: French key names, days, department codes, and the checks of one code or one
key at a time, each returning what to tell the coordinator."""

from __future__ import annotations

import difflib
import re
from typing import Any

from bot.language.checks import Collector
from bot.language.yamlload import LineDict
from bot.places.geo import Geo

# Keys a French-speaking coordinator may write instead of the English ones.
FRENCH_KEYS = {
    "nom": "name",
    "libelle": "label",
    "libellé": "label",
    "territoire": "territory",
    "groupe": "telegram_chat_id",
    "mediateurs": "mediators",
    "médiateurs": "mediators",
    "horaires": "hours",
    "delai": "target_minutes",
    "délai": "target_minutes",
    "tentatives": "max_attempts",
    "codes_postaux": "postcodes",
    "communes": "insee",
    "departements": "departments",
    "départements": "departments",
    "autour": "around",
    "rayon": "km",
    "jours": "days",
    "de": "from",
    "a": "to",
    "à": "to",
}
DAYS = {
    **{day: i for i, day in enumerate(("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"))},
    **{day: i for i, day in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{day: i for i, day in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))},
}
DEPARTMENTS = frozenset(
    [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B"] + [str(n) for n in range(971, 977)]
)
MAX_KM = 200.0
MAX_LABEL = 120
NAME = re.compile(r"^[a-z0-9_-]{1,64}$")
TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
INSEE = re.compile(r"^(?:\d{2}|2[AB])\d{3}$")


LEVELS = {"postcodes": "code postal", "insee": "code INSEE", "departments": "département"}


def empty_block(line: int) -> LineDict:
    empty = LineDict()
    empty.line, empty.key_lines = line, {}
    return empty


def unknown_keys(raw: LineDict, allowed: tuple[str, ...], where: str, out: Collector) -> None:
    for key in raw:
        if key in allowed:
            continue
        close = FRENCH_KEYS.get(key.casefold())
        if close not in allowed:
            found = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            close = found[0] if found else None
        hint = f"vouliez-vous dire `{close}` ?" if close else f"clés permises : {', '.join(allowed)}"
        out.add(raw.line_of(key), f"{where}clé `{key}` inconnue ; {hint}")


def code_text(item: Any) -> str:
    """A code as written (the YAML loader keeps `01000` as text: a leading zero never makes a number)."""
    return str(item).strip().upper()


def _postcode_problem(code: str, geo: Geo | None) -> str | None:
    if not re.fullmatch(r"\d{5}", code):
        return f'code postal `{code}` : 5 chiffres attendus, par exemple "69001"'
    if geo is not None and code not in geo.postcodes:
        return f"le code postal `{code}` n'existe pas dans la table géographique ; vérifiez-le"
    return None


def _insee_problem(code: str, geo: Geo | None) -> str | None:
    if code.startswith("20") and re.fullmatch(r"\d{5}", code):
        return f"code INSEE `{code}` : les codes des communes corses commencent par 2A ou 2B (Ajaccio : 2A004)"
    if not INSEE.match(code):
        return f"code INSEE `{code}` : 5 caractères attendus, 2 pour le département et 3 pour la commune (Lyon : 69123)"
    if geo is not None and code not in geo.by_code:
        if code in geo.postcodes:
            return f"`{code}` est un code postal, pas un code INSEE : mettez-le sous `postcodes`"
        return (
            f"le code INSEE `{code}` n'est pas une commune de la table géographique ; vérifiez-le "
            "(Lyon : 69123, pas 69000)"
        )
    return None


def _department_problem(code: str, geo: Geo | None) -> str | None:
    if code == "20":
        return "département `20` : la Corse, c'est `2A` (Corse-du-Sud) et `2B` (Haute-Corse)"
    if code not in DEPARTMENTS:
        return f'le département `{code}` n\'existe pas ; écrivez 01 à 95, 2A, 2B ou 971 à 976 (entre guillemets : "01")'
    return None


CODE_CHECKS = {"postcodes": _postcode_problem, "insee": _insee_problem, "departments": _department_problem}


def day_range(text: str) -> frozenset[int] | None:
    """`lundi`, `mon`, or a range `lundi-vendredi`; None when not a day."""
    first, dash, last = text.strip().casefold().partition("-")
    if first not in DAYS or (dash and last not in DAYS):
        return None
    start, end = DAYS[first], DAYS[last] if dash else DAYS[first]
    return frozenset(range(start, end + 1)) if start <= end else frozenset([*range(start, 7), *range(0, end + 1)])
