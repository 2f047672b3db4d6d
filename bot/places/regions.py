"""Which region a department belongs to (the 18 regions since 2016), to tell a person which regions the
loaded list of places covers when theirs is not among them."""

from __future__ import annotations

from collections.abc import Iterable

_REGIONS: dict[str, tuple[str, ...]] = {
    "Auvergne-Rhône-Alpes": ("01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74"),
    "Bourgogne-Franche-Comté": ("21", "25", "39", "58", "70", "71", "89", "90"),
    "Bretagne": ("22", "29", "35", "56"),
    "Centre-Val de Loire": ("18", "28", "36", "37", "41", "45"),
    "Corse": ("2A", "2B"),
    "Grand Est": ("08", "10", "51", "52", "54", "55", "57", "67", "68", "88"),
    "Hauts-de-France": ("02", "59", "60", "62", "80"),
    "Île-de-France": ("75", "77", "78", "91", "92", "93", "94", "95"),
    "Normandie": ("14", "27", "50", "61", "76"),
    "Nouvelle-Aquitaine": ("16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87"),
    "Occitanie": ("09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"),
    "Pays de la Loire": ("44", "49", "53", "72", "85"),
    "Provence-Alpes-Côte d'Azur": ("04", "05", "06", "13", "83", "84"),
    "Guadeloupe": ("971",),
    "Martinique": ("972",),
    "Guyane": ("973",),
    "La Réunion": ("974",),
    "Mayotte": ("976",),
    "Saint-Pierre-et-Miquelon": ("975",),
    "Saint-Barthélemy": ("977",),
    "Saint-Martin": ("978",),
    "Wallis-et-Futuna": ("986",),
    "Polynésie française": ("987",),
    "Nouvelle-Calédonie": ("988",),
}
REGION_OF_DEPARTMENT = {department: region for region, departments in _REGIONS.items() for department in departments}


def department_of(code_insee: str, postcode: str) -> str:
    """The department's code from a commune's INSEE code (preferred: it knows Corsica's 2A/2B) or its postcode;
    "" when neither reads as one."""
    for code in (code_insee.strip().upper(), postcode.strip()):
        if len(code) != 5:
            continue
        if code[:2] in ("97", "98"):
            return code[:3]
        if code[:2] == "20" and code.isdigit():  # a Corsican postcode: 200xx-201xx Corse-du-Sud
            return "2A" if code < "20200" else "2B"
        if code[:2] in REGION_OF_DEPARTMENT:
            return code[:2]
    return ""


def region_of(code_insee: str, postcode: str) -> str:
    """The region's name, "" when unknown."""
    return REGION_OF_DEPARTMENT.get(department_of(code_insee, postcode), "")


def regions_of(places: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The regions of (code_insee, postcode) pairs, most represented first, each once."""
    counts: dict[str, int] = {}
    for code_insee, postcode in places:
        region = region_of(code_insee, postcode)
        if region:
            counts[region] = counts.get(region, 0) + 1
    return tuple(sorted(counts, key=lambda r: (-counts[r], r)))
