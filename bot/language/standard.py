"""The national standard "lieux de médiation numérique": fields, rules and enumerations of v1.0.x, and how the
older v0.1.x names and values map onto v1.

Data, plus the small lookups the importer needs. Sources: the official schemas in `shared/data/`
(`lamednum_schema_v1.0.1.json`, v1.0.2 on the main branch, `lamednum_schema_v0.1.1.json`) and ANCT's own
v0 → v1 value mapping (see `shared/data/README.md`). Where ANCT gives no mapping (conditions of access,
national labels, the publics other than seniors) the choice made here is commented beside the value.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

# Every v1.0.x column, in the schema's order (the order the exporter writes).
V1_FIELDS: tuple[str, ...] = (
    "id",
    "pivot",
    "nom",
    "commune",
    "code_postal",
    "code_insee",
    "adresse",
    "complement_adresse",
    "latitude",
    "longitude",
    "typologie",
    "telephone",
    "courriels",
    "site_web",
    "horaires",
    "presentation_resume",
    "presentation_detail",
    "source",
    "itinerance",
    "structure_parente",
    "date_maj",
    "services",
    "publics_specifiquement_adresses",
    "prise_en_charge_specifique",
    "frais_a_charge",
    "dispositif_programmes_nationaux",
    "formations_labels",
    "autres_formations_labels",
    "modalites_acces",
    "modalites_accompagnement",
    "fiche_acces_libre",
    "prise_rdv",
)
V1_REQUIRED: frozenset[str] = frozenset({"id", "pivot", "nom", "commune", "code_postal", "adresse", "date_maj"})

# Columns that exist only in v0.1.x. The ANCT exports in v1 still carry some of them (`courriel`,
# `labels_nationaux`, `publics_accueillis`, `accessibilite`, ...): they are read when the row has no v1 value
# for the same information, never otherwise.
V0_ONLY_COLUMNS: frozenset[str] = frozenset(
    {
        "cle_ban",
        "courriel",
        "publics_accueillis",
        "conditions_acces",
        "labels_nationaux",
        "labels_autres",
        "accessibilite",
    }
)
V1_ONLY_COLUMNS: frozenset[str] = frozenset(
    {
        "courriels",
        "itinerance",
        "publics_specifiquement_adresses",
        "prise_en_charge_specifique",
        "frais_a_charge",
        "dispositif_programmes_nationaux",
        "formations_labels",
        "autres_formations_labels",
        "modalites_acces",
        "fiche_acces_libre",
    }
)
# v0 free-text columns renamed in v1.
V0_RENAMED: Mapping[str, str] = {
    "courriel": "courriels",
    "labels_autres": "autres_formations_labels",
    "accessibilite": "fiche_acces_libre",
}
# Passerelle's one extension column: the v0 "A ma place" fact, which v1 cannot express (see export.py).
ASSISTANCE_COLUMN = "assistance"

SEPARATOR = {"1": "|", "0.1": ";"}
PLACEHOLDER_PIVOT = "00000000000000"  # producers' "unknown SIRET"
EPOCH_DATES = frozenset({"1970-01-01", "1969-12-31"})  # a zero timestamp, shown in UTC or in a western timezone
SUMMARY_MAX = 280  # v1 presentation_resume maxLength (v0.1 allowed 500)

POSTCODE = re.compile(r"^\d{5}$")
INSEE = re.compile(r"^([013-9]\d|2[AB1-9])\d{3}$")
PIVOT = re.compile(r"^[a-zA-Z0-9]{9,14}$")
PHONE = re.compile(r"^(\+33|\+590|\+594|\+262|\+596|\+269|\+687|\+689|\+508|\+681)(\d){6,9}$")
DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")

# ----- v1 enumerations (full matches) ------------------------------------------------------------------------
V1_ENUMS: Mapping[str, tuple[str, ...]] = {
    "itinerance": ("Itinérant", "Fixe"),
    "services": (
        "Aide aux démarches administratives",
        "Maîtrise des outils numériques du quotidien",
        "Insertion professionnelle via le numérique",
        "Utilisation sécurisée du numérique",
        "Parentalité et éducation avec le numérique",
        "Loisirs et créations numériques",
        "Compréhension du monde numérique",
        "Accès internet et matériel informatique",
        "Acquisition de matériel informatique à prix solidaire",
    ),
    "publics_specifiquement_adresses": ("Jeunes", "Étudiants", "Familles et/ou enfants", "Seniors", "Femmes"),
    "prise_en_charge_specifique": (
        "Surdité",
        "Handicaps moteurs",
        "Handicaps mentaux",
        "Illettrisme",
        "Langues étrangères (anglais)",
        "Langues étrangères (autres)",
        "Déficience visuelle",
    ),
    "frais_a_charge": ("Gratuit", "Gratuit sous condition", "Payant"),
    "dispositif_programmes_nationaux": (
        "Aidants Connect",
        "Bibliothèques numérique de référence",
        "Certification PIX",
        "Conseillers numériques",
        "Emmaüs Connect",
        "France Services",
        "Grande école du numérique",
        "La Croix Rouge",
        "Point d'accès numérique CAF",
        "Promeneurs du net",
        "Relais numérique (Emmaüs Connect)",
    ),
    "formations_labels": (
        "Formé à « Mon Espace Santé »",
        "Formé à « DUPLEX » (illettrisme)",
        "Arnia/MedNum BFC (Bourgogne-Franche-Comté)",
        "Collectif ressources et acteurs réemploi (Normandie)",
        "Étapes numériques (La Poste)",  # v1.0.2 (main branch)
        "Fabriques de Territoire",
        "Les Éclaireurs du numérique (Drôme)",
        "Mes Papiers (Métropole de Lyon)",
        "ORDI 3.0",
        "SUD LABS (PACA)",
    ),
    "modalites_acces": (
        "Se présenter",
        "Téléphoner",
        "Contacter par mail",
        "Prendre un RDV en ligne",
        "Ce lieu n'accueille pas de public",
        "Envoyer un mail avec une fiche de prescription",
    ),
    "modalites_accompagnement": (
        "En autonomie",
        "Accompagnement individuel",
        "Dans un atelier collectif",
        "À distance",
    ),
}
LIST_FIELDS: tuple[str, ...] = tuple(V1_ENUMS)

# Other spellings of v1 values: the schema's own descriptions, and v1.0.2's regex that lacks a space.
V1_VARIANTS: Mapping[str, Mapping[str, str]] = {
    "services": {"Comprehension du monde numérique": "Compréhension du monde numérique"},
    "formations_labels": {"Étapes numériques(La Poste)": "Étapes numériques (La Poste)"},
    "modalites_accompagnement": {
        "Dans un atelier collectif : j'apprends collectivement à utiliser le numérique": "Dans un atelier collectif",
        "À distance (par téléphone ou en visioconférence)": "À distance",
        "A distance": "À distance",
    },
}

# ----- v0.1 values → v1 (field, value) pairs; () means "no v1 equivalent: dropped without a report" ---------
Targets = tuple[tuple[str, str], ...]


def _to(field: str, *values: str) -> Targets:
    return tuple((field, value) for value in values)


_ADMIN = _to("services", "Aide aux démarches administratives")
_TOOLS = _to("services", "Maîtrise des outils numériques du quotidien")
_WORLD = _to("services", "Compréhension du monde numérique")
_JOBS = _to("services", "Insertion professionnelle via le numérique")
_ACCESS = _to("services", "Accès internet et matériel informatique")
_PERSONAL = _to("modalites_accompagnement", "Accompagnement individuel")

V0_VALUES: Mapping[str, Mapping[str, Targets]] = {
    "services": {  # ANCT's mapping
        "Prendre en main un smartphone ou une tablette": _TOOLS,
        "Prendre en main un ordinateur": _TOOLS,
        "Utiliser le numérique au quotidien": _TOOLS,
        "Devenir autonome dans les démarches administratives": _ADMIN,
        "Réaliser des démarches administratives avec un accompagnement": _ADMIN,
        "Accompagner les démarches de santé": _ADMIN,
        "Approfondir ma culture numérique": _WORLD,
        "Promouvoir la citoyenneté numérique": _WORLD,
        "Favoriser mon insertion professionnelle": _JOBS,
        "Créer et développer mon entreprise": _JOBS,
        "Accéder à une connexion internet": _ACCESS,
        "Accéder à du matériel": _ACCESS,
        "S'équiper en matériel informatique": _to("services", "Acquisition de matériel informatique à prix solidaire"),
        "Créer avec le numérique": _to("services", "Loisirs et créations numériques"),
        "Soutenir la parentalité et l'éducation avec le numérique": _to(
            "services", "Parentalité et éducation avec le numérique"
        ),
    },
    "modalites_accompagnement": {  # ANCT's mapping; "A ma place" also sets the assistance flag
        "Seul : j'ai accès à du matériel et une connexion": _to("modalites_accompagnement", "En autonomie"),
        "Avec de l'aide : je suis accompagné seul dans l'usage du numérique": _PERSONAL,
        "Dans un atelier : j'apprends collectivement à utiliser le numérique": _to(
            "modalites_accompagnement", "Dans un atelier collectif"
        ),
        "A ma place : une personne habilitée fait les démarches à ma place": (*_PERSONAL, (ASSISTANCE_COLUMN, "oui")),
    },
    "publics_accueillis": {
        "Seniors (+ 65 ans)": _to("publics_specifiquement_adresses", "Seniors"),  # ANCT's mapping
        "Jeunes (16-26 ans)": _to("publics_specifiquement_adresses", "Jeunes"),
        "Familles/enfants": _to("publics_specifiquement_adresses", "Familles et/ou enfants"),
        "Uniquement femmes": _to("publics_specifiquement_adresses", "Femmes"),
        "Adultes": (),  # everybody: v1 says nothing for "all publics"
        "Public langues étrangères": _to("prise_en_charge_specifique", "Langues étrangères (autres)"),
        "Déficience visuelle": _to("prise_en_charge_specifique", "Déficience visuelle"),
        "Surdité": _to("prise_en_charge_specifique", "Surdité"),
        "Handicaps psychiques : troubles psychiatriques donnant lieu à des atteintes comportementales": _to(
            "prise_en_charge_specifique", "Handicaps mentaux"
        ),
        "Handicaps mentaux : déficiences limitant les activités d'une personne": _to(
            "prise_en_charge_specifique", "Handicaps mentaux"
        ),
        "Personnes en situation d'illettrisme": _to("prise_en_charge_specifique", "Illettrisme"),
    },
    "conditions_acces": {
        "Gratuit : Je peux accéder gratuitement au lieu et à ses services": _to("frais_a_charge", "Gratuit"),
        "Gratuit sous condition : La gratuité est conditionnée à des critères (situation familiale, convention "
        "avec un organisme social...)": _to("frais_a_charge", "Gratuit sous condition"),
        "Payant : L'accès au lieu et/ou à ses services est payant": _to("frais_a_charge", "Payant"),
        # A membership is paid for: the person must know it is not free.
        "Adhésion : L'accès au lieu et/ou à ses services nécessite d'y adhérer": _to("frais_a_charge", "Payant"),
        # A way to pay, not a price: the other values of the row say whether it is free.
        "Accepte le Pass numérique : Il est possible d'utiliser un Pass numérique pour accéder au lieu": (),
    },
    "labels_nationaux": {
        "France Services": _to("dispositif_programmes_nationaux", "France Services"),
        "CNFS": _to("dispositif_programmes_nationaux", "Conseillers numériques"),
        "Aidants Connect": _to("dispositif_programmes_nationaux", "Aidants Connect"),
        "Grandes écoles du numérique": _to("dispositif_programmes_nationaux", "Grande école du numérique"),
        "Point relais CAF": _to("dispositif_programmes_nationaux", "Point d'accès numérique CAF"),
        "Point numérique CAF": _to("dispositif_programmes_nationaux", "Point d'accès numérique CAF"),
        "Fabriques de Territoire": _to("formations_labels", "Fabriques de Territoire"),
        "APTIC": (),  # the pass numérique network, a way to pay
        "Relais pôle emploi": (),
        "French Tech": (),
        "Campus connecté": (),
    },
}
# Which v1 fields a v0-only list column informs: it is read only when the row has none of them.
V0_LIST_TARGETS: Mapping[str, tuple[str, ...]] = {
    "publics_accueillis": ("publics_specifiquement_adresses", "prise_en_charge_specifique"),
    "conditions_acces": ("frais_a_charge",),
    "labels_nationaux": ("dispositif_programmes_nationaux", "formations_labels"),
}


# Control characters (NUL, escape, the C1 block…): no text of the standard holds them; they come from binary junk
# or a broken export, PostgreSQL refuses to store a NUL, and Telegram and the pages would show them as garbage.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def normalise_text(value: str) -> str:
    """NFC (files saved on macOS come decomposed), straight apostrophes, no control characters, single spaces,
    no edges."""
    text = unicodedata.normalize("NFC", value).replace("’", "'").replace("\u00a0", " ")
    return " ".join(_CONTROL.sub(" ", text).split())


def _key(value: str) -> str:
    return normalise_text(value).casefold()


def _build_lookup() -> dict[str, dict[str, Targets]]:
    """column → (case-insensitive value → v1 targets). v0 values of the form "Label : explanation" are also
    accepted as "Label" alone, as some producers write them."""
    lookup: dict[str, dict[str, Targets]] = {}
    for field, values in V1_ENUMS.items():
        table = lookup.setdefault(field, {})
        for value in values:
            table[_key(value)] = ((field, value),)
        for variant, value in V1_VARIANTS.get(field, {}).items():
            table[_key(variant)] = ((field, value),)
    for column, mapping in V0_VALUES.items():
        table = lookup.setdefault(column, {})
        for value, targets in mapping.items():
            table.setdefault(_key(value), targets)
            short = value.split(" : ", 1)[0]
            table.setdefault(_key(short), targets)
    return lookup


_LOOKUP = _build_lookup()


def lookup_value(column: str, value: str) -> Targets | None:
    """The v1 (field, value) pairs one list value of `column` stands for; None when the value is unknown."""
    return _LOOKUP.get(column, {}).get(_key(value))


def list_columns() -> frozenset[str]:
    """The columns whose values come from an enumeration (v1 fields and v0-only columns)."""
    return frozenset(_LOOKUP)
