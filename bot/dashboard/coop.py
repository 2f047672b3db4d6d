"""« Bilan pour la Coop » (`/mediateurs/export-cra.csv`): the calls made in a period as rows of an individual
activity report (« CRA individuel ») of La Coop de la médiation numérique (ANCT), where many mediators already
report their activity: the Coop's column names and labels. What a request tells is filled in; what only the
mediator knows (duration, equipment used, autonomy, where the person was sent…) is left empty for them.

A row is a call that reached the person and helped them (« Appel fait »), dated the day of the call. A person never
reached (« Injoignable »), a cancelled request or a call that ended in « Plus besoin d'aide » was not accompanied:
no row. Like the activity export: no phone number, first name, note or conversation key.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.core.clock import PARIS
from bot.core.slots import UNKNOWN
from bot.dashboard.export import answer, safe_rows
from bot.storage.records import CallbackRow

# The Coop's own export of activities names these columns (github.com/inclusion-numerique/coop-mediation-numerique,
# commit 46aa33bdf21c42c2d5bbb2913f5c453cca5a9542, apps/web/src/features/activites/use-cases/list/export/
# buildAccompagnementsWorksheet.ts); they are the fields of a CRA individuel (use-cases/cra/validation/
# CraValidation.ts, cra/individuel/validation/CraIndividuelValidation.ts, beneficiaire/forms/
# beneficiaire-validation.ts). Left out: the mediator's and the beneficiary's names, the notes (personal), the
# place's name, address and commune (none for « À distance »), the workshop's name and participants (collective
# only), the Coop's own record dates, source and id.
COOP_FIELDS = (
    "Date",
    "Type",
    "Canaux d’accompagnement",
    "Durée (min)",
    "Matériel numérique utilisé",
    "Thématique(s) d’accompagnement",
    "Tags",
    "Nom de la démarche administrative",
    "Niveau d’autonomie (ou de l’atelier)",
    "Bénéficiaire réorienté",
    "Structure de redirection",
    "Commune du bénéficiaire",
    "Code postal du bénéficiaire",
    "Code Insee du bénéficiaire",
    "Genre du bénéficiaire",
    "Tranche d’âge du bénéficiaire",
    "Statut du bénéficiaire",
)
# Ours, after the Coop's: in a team's queue each mediator reports their own calls, and finds one again by its id.
OUR_FIELDS = ("Médiateur", "Référence de la demande")
COLUMNS = COOP_FIELDS + OUR_FIELDS

INDIVIDUEL = "Accompagnement individuel"  # typeActiviteLabels.Individuel (cra/fields/type-activite.ts)
A_DISTANCE = "À distance"  # typeLieuLabels.ADistance (cra/fields/type-lieu.ts): a phone call
# Our `goals` -> the Coop's thématiques (thematiqueLabels, cra/fields/thematique.ts), from the hints the Coop gives
# under each; « Aider d'autres personnes » has none.
THEMES = {
    "family_contact": ("Réseaux sociaux communication",),  # « maintenir un lien social… WhatsApp, visioconférence »
    "daily_life": ("Navigation sur internet",),  # « faire une recherche, naviguer, remplir un formulaire »
    "leisure": ("Créer avec le numérique",),  # « photos, vidéos, illustrations »
    "admin_procedures": ("Aide aux démarches administratives",),
    "office_skills": ("E-mail", "Bureautique"),
    "new_tools": ("Prendre en main du matériel",),  # « utiliser un ordinateur, une tablette ou un smartphone »
}
# The order of the Coop's form (and of its export's cells).
THEME_ORDER = (
    "Prendre en main du matériel",
    "Navigation sur internet",
    "E-mail",
    "Bureautique",
    "Réseaux sociaux communication",
    "Créer avec le numérique",
    "Aide aux démarches administratives",
)
# Our `age_band` -> trancheAgeLabels (beneficiaire/domain/tranche-age.ts); « Moins de 60 ans » spans several.
AGE_BANDS = {"60_69": "60 - 69 ans", "70_79": "70 ans et plus", "80_plus": "70 ans et plus", UNKNOWN: "Non communiqué"}
# The call's outcome -> « Le bénéficiaire est-il orienté vers une autre structure ? » (yesNoLabels); a rendez-vous
# or « Autre » may be either: the mediator says.
ORIENTED = {"oriented": "Oui", "helped": "Non"}
NOT_ACCOMPANIED = frozenset({"no_need"})
CELL_LINES = "\n"  # several labels in one cell, one a line, as the Coop's export writes them


def is_accompaniment(row: CallbackRow) -> bool:
    return row.status == "done" and row.resolved_at is not None and row.outcome not in NOT_ACCOMPANIED


def themes(row: CallbackRow) -> list[str]:
    goals = (row.answers or {}).get("goals")
    found = {theme for goal in (goals if isinstance(goals, list) else []) for theme in THEMES.get(str(goal), ())}
    return sorted(found, key=THEME_ORDER.index)


def _line(row: CallbackRow) -> tuple[object, ...]:
    assert row.resolved_at is not None
    age = answer(row, "age_band")
    mapped = {
        "Date": row.resolved_at.astimezone(PARIS).strftime("%d/%m/%Y"),
        "Type": INDIVIDUEL,
        "Canaux d’accompagnement": A_DISTANCE,
        "Thématique(s) d’accompagnement": CELL_LINES.join(themes(row)),
        "Bénéficiaire réorienté": ORIENTED.get(row.outcome or "", ""),
        "Commune du bénéficiaire": row.commune or "",
        "Code Insee du bénéficiaire": row.code_insee or "",
        "Tranche d’âge du bénéficiaire": AGE_BANDS.get(age, "") if age else "",
        "Médiateur": row.claimed_name or "",
        "Référence de la demande": row.id,
    }
    return tuple(mapped.get(column, "") for column in COLUMNS)


def cra_csv(rows: Iterable[CallbackRow]) -> str:
    return safe_rows(COLUMNS, (_line(row) for row in rows if is_accompaniment(row)))
