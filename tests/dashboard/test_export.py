"""The dashboard's two exports: the activity CSV in readable French (`/mediateurs/export.csv`) and the « Bilan pour
la Coop » (`/mediateurs/export-cra.csv`), the calls made as rows of La Coop de la médiation numérique's individual
activity report (CRA individuel), checked against the field list and labels read in the Coop's own code. Pure
checks on built rows first, then the whole server (the `web_server` fixture, a SQLite file) driven over HTTP."""

from __future__ import annotations

import csv
import io
import itertools
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from bot.callbacks.rules import OUTCOMES
from bot.core.clock import PARIS, now
from bot.core.slots import SLOTS, UNKNOWN
from bot.dashboard import coop
from bot.dashboard.export import COLUMNS, Words, activity_csv, safe_cell
from bot.storage import Storage
from bot.storage.records import CallbackRow
from bot.storage.tables import callbacks
from tests.support.browser import RunningServer
from tests.support.dashboard import DashboardClient, add_mediator, create_request

on_server = pytest.mark.asyncio(loop_scope="session")

# Read in github.com/inclusion-numerique/coop-mediation-numerique at commit 46aa33bdf21c42c2d5bbb2913f5c453cca5a9542:
# the column names of apps/web/src/features/activites/use-cases/list/export/buildAccompagnementsWorksheet.ts that a
# CRA individuel fills (use-cases/cra/validation/CraValidation.ts, cra/individuel/validation/
# CraIndividuelValidation.ts), without names, notes, the place of a « Lieu d'activité » and the Coop's own metadata.
COOP_CRA_FIELDS = [
    "Date",  # CraValidation.date
    "Type",  # typeActiviteLabels
    "Canaux d’accompagnement",  # CraValidation.typeLieu
    "Durée (min)",  # CraValidation.duree
    "Matériel numérique utilisé",  # CraValidation.materiel
    "Thématique(s) d’accompagnement",  # CraValidation.thematiques (one at least)
    "Tags",  # CraValidation.tags
    "Nom de la démarche administrative",  # CraValidation.precisionsDemarche
    "Niveau d’autonomie (ou de l’atelier)",  # CraIndividuelValidation.autonomie
    "Bénéficiaire réorienté",  # CraIndividuelValidation.orienteVersStructure
    "Structure de redirection",  # CraIndividuelValidation.structureDeRedirection
    "Commune du bénéficiaire",  # BeneficiaireValidation.communeResidence
    "Code postal du bénéficiaire",
    "Code Insee du bénéficiaire",
    "Genre du bénéficiaire",  # BeneficiaireValidation.genre
    "Tranche d’âge du bénéficiaire",  # BeneficiaireValidation.trancheAge
    "Statut du bénéficiaire",  # BeneficiaireValidation.statutSocial
]
# The Coop's labels of the fields we fill (cra/fields/type-activite.ts, type-lieu.ts, thematique.ts,
# utils/yesNoBooleanOptions.ts, beneficiaire/domain/tranche-age.ts).
COOP_LABELS = {
    "Type": {"Accompagnement individuel", "Atelier collectif"},
    "Canaux d’accompagnement": {"Lieu d’activité", "Autre lieu", "À domicile", "À distance"},
    "Thématique(s) d’accompagnement": {
        "Diagnostic numérique", "Prendre en main du matériel", "Maintenance de matériel",
        "Gérer ses contenus numériques", "Navigation sur internet", "E-mail", "Bureautique",
        "Réseaux sociaux communication", "Santé", "Banque et achats en ligne", "Accompagner un professionnel",
        "Insertion professionnelle", "Prévention en sécurité numérique", "Parentalité", "Scolarité et numérique",
        "Créer avec le numérique", "Culture numérique", "Intelligence artificielle (IA)",
        "Aide aux démarches administratives", "Papiers - Élections - Citoyenneté", "Famille - Scolarité",
        "Social - Santé", "Travail - Formation - Entreprise", "Logement", "Transports - Mobilité", "Argent - Impôts",
        "Justice", "Étrangers - Europe", "Loisirs - Sports - Culture", "Associations",
    },
    "Bénéficiaire réorienté": {"Oui", "Non"},
    "Tranche d’âge du bénéficiaire": {
        "70 ans et plus", "60 - 69 ans", "40 - 59 ans", "25 - 39 ans", "18 - 24 ans", "12 - 17 ans",
        "Moins de 12 ans", "Non communiqué",
    },
}  # fmt: skip
# What only the mediator knows: always left empty for them to complete.
TO_COMPLETE = [
    "Durée (min)",
    "Matériel numérique utilisé",
    "Tags",
    "Nom de la démarche administrative",
    "Niveau d’autonomie (ou de l’atelier)",
    "Structure de redirection",
    "Code postal du bénéficiaire",
    "Genre du bénéficiaire",
    "Statut du bénéficiaire",
]
PERSONAL = ("98765432", "98 76 54 32", "Jeanne", "Secret de la note", "telegram:777")
LYON = "l'équipe de médiation numérique de Lyon et Villeurbanne"
TIMIDE = "Se débrouille déjà, mais voudrait prendre confiance"


def table(text: str) -> list[dict[str, str]]:
    """The CSV's lines as dicts by column; the header must be whole and unique."""
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    assert len(set(lines[0])) == len(lines[0])
    return [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]


def header(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))


def call(number: int, answers: dict[str, Any] | None, outcome: str | None, status: str = "done") -> CallbackRow:
    return CallbackRow(
        id=f"{number:032x}",
        conversation_key="telegram:777",
        status=status,
        queue="lyon",
        persona="timide",
        answers=answers,
        phone="+33698765432",
        moment="morning",
        contact="person",
        first_name="Jeanne",
        created_at=datetime(2026, 11, 2, 8, 0, tzinfo=UTC),
        claimed_by="web:marie",
        claimed_name="Marie D.",
        claimed_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        outcome=outcome,
        note="Secret de la note",
        resolved_at=datetime(2026, 11, 2, 23, 30, tzinfo=UTC),  # 3 November in Paris
        commune="Villeurbanne",
        code_insee="69266",
    )


# ----- the Coop's CRA, on built rows ------------------------------------------------------------------------------
def test_cra_columns_are_the_coop_fields_then_ours() -> None:
    """The columns are the field list read in the Coop's code, in its order and spelling, then the mediator who
    called and the request's reference."""
    assert list(coop.COOP_FIELDS) == COOP_CRA_FIELDS
    assert header(coop.cra_csv([])) == [*COOP_CRA_FIELDS, "Médiateur", "Référence de la demande"]


def test_every_value_filled_in_is_a_coop_label_and_the_rest_is_left_to_complete() -> None:
    """Every goal, age band and outcome a request can hold: the cells filled are the Coop's labels (several
    thématiques one a line), the fields only the mediator knows stay empty, nothing personal appears."""
    goal_sets = [[goal] for goal in SLOTS["goals"].values] + [list(SLOTS["goals"].values), [UNKNOWN]]
    ages = [*SLOTS["age_band"].values, UNKNOWN]
    combos = list(itertools.product(goal_sets, ages, OUTCOMES))
    rows = [
        call(n, {"for_whom": "self", "goals": goals, "age_band": age}, outcome)
        for n, (goals, age, outcome) in enumerate(combos)
    ]
    text = coop.cra_csv(rows)
    lines = table(text)
    assert len(lines) == sum(1 for combo in combos if combo[2] != "no_need")  # « Plus besoin d'aide »: no support
    for line in lines:
        assert re.fullmatch(r"\d\d/\d\d/\d{4}", line["Date"])
        for column, labels in COOP_LABELS.items():
            for value in filter(None, line[column].split("\n")):
                assert value in labels, (column, value)
        assert [line[column] for column in TO_COMPLETE] == [""] * len(TO_COMPLETE)
    for secret in PERSONAL:
        assert secret not in text
    first = lines[0]
    assert (first["Date"], first["Type"], first["Canaux d’accompagnement"]) == (
        "03/11/2026",
        "Accompagnement individuel",
        "À distance",
    )
    assert (first["Commune du bénéficiaire"], first["Code Insee du bénéficiaire"]) == ("Villeurbanne", "69266")
    assert (first["Médiateur"], first["Référence de la demande"]) == ("Marie D.", rows[0].id)


@pytest.mark.parametrize(
    ("answers", "outcome", "themes", "age", "oriented"),
    [
        ({"goals": ["family_contact"], "age_band": "60_69"}, "oriented", "Réseaux sociaux communication",
         "60 - 69 ans", "Oui"),
        ({"goals": ["office_skills", "admin_procedures"], "age_band": "80_plus"}, "helped",
         "E-mail\nBureautique\nAide aux démarches administratives", "70 ans et plus", "Non"),
        ({"goals": ["help_others"], "age_band": "under_60"}, "appointment", "", "", ""),
        ({"goals": ["daily_life", "leisure", "new_tools"], "age_band": UNKNOWN}, "other",
         "Prendre en main du matériel\nNavigation sur internet\nCréer avec le numérique", "Non communiqué", ""),
        (None, "oriented", "", "", "Oui"),  # erased by /oublier: the answers are gone
    ],
)  # fmt: skip
def test_what_maps_from_what(
    answers: dict[str, Any] | None, outcome: str, themes: str, age: str, oriented: str
) -> None:
    """Goals give the thématiques, the age band the tranche d'âge (« moins de 60 ans » spans several: empty),
    « Orienté vers un lieu » gives « Oui », « Aidé au téléphone » « Non », other outcomes leave it to the mediator."""
    (line,) = table(coop.cra_csv([call(1, answers, outcome)]))
    assert line["Thématique(s) d’accompagnement"] == themes
    assert line["Tranche d’âge du bénéficiaire"] == age
    assert line["Bénéficiaire réorienté"] == oriented


def test_only_calls_that_reached_and_helped_someone_are_reported() -> None:
    """Unreachable, cancelled, waiting and taken requests, and « Plus besoin d'aide », give no CRA row."""
    answers = {"goals": ["leisure"]}
    rows = [
        call(1, answers, None, "unreachable"),
        call(2, answers, None, "cancelled"),
        call(3, answers, None, "new"),
        call(4, answers, None, "claimed"),
        call(5, answers, "no_need"),
        call(6, answers, "helped"),
    ]
    assert [line["Référence de la demande"] for line in table(coop.cra_csv(rows))] == [rows[-1].id]


# ----- the readable activity CSV, on built rows -------------------------------------------------------------------
def test_activity_csv_speaks_french_not_ids() -> None:
    """Queue label, profile title, state and result in words, the channel (kept with the request, else read from
    the conversation key of an older one), who it is for, the age band as on the flow's button, the commune and its
    code; after /oublier, what came from the answers is empty."""
    words = Words(queues={"lyon": LYON}, personas={"timide": TIMIDE}, age_bands={"70_79": "70 à 79 ans"})
    older = call(0, {"for_whom": "self", "age_band": "70_79"}, "oriented")  # no channel column: from the key
    web = replace(
        call(1, {"for_whom": "relative", "age_band": UNKNOWN}, "oriented"), conversation_key="web:a", channel="web"
    )
    erased = replace(call(2, None, "helped"), conversation_key=None, channel="telegram")
    lost = replace(erased, id="f" * 32, channel=None)
    text = activity_csv([older, web, erased, lost], words)
    assert header(text) == list(COLUMNS)
    first, second, third, fourth = table(text)
    assert (first["file"], first["profil"], first["état"], first["résultat"]) == (
        LYON,
        TIMIDE,
        "Appel fait",
        "Orienté vers un lieu",
    )
    assert (first["canal"], first["pour qui"], first["tranche d'âge"]) == (
        "Telegram",
        "La personne elle-même",
        "70 à 79 ans",
    )
    assert (first["commune"], first["code INSEE"]) == ("Villeurbanne", "69266")
    assert (second["canal"], second["pour qui"], second["tranche d'âge"]) == ("Chat web", "Un proche", "Non communiqué")
    assert (third["canal"], third["pour qui"], third["tranche d'âge"], third["commune"]) == (
        "Telegram",
        "",
        "",
        "Villeurbanne",
    )
    assert fourth["canal"] == ""
    for secret in PERSONAL:
        assert secret not in text


# ----- over HTTP, on the whole server -----------------------------------------------------------------------------
def storage_of(server: RunningServer) -> Storage:
    assert isinstance(server.app.storage, Storage)
    return server.app.storage


async def set_times(server: RunningServer, callback_id: str, **values: datetime) -> None:
    async with storage_of(server).callback_transaction() as tx:
        await tx.connection.execute(update(callbacks).where(callbacks.c.id == callback_id).values(**values))


@on_server
async def test_both_exports_are_excel_friendly_without_personal_data_and_injection_safe(
    web_server: RunningServer,
) -> None:
    """Both CSVs: BOM, semicolons, an attachment's name, never cached; no phone, first name, note or conversation
    key; a cell starting with = (a mediator's name) neutralised; the plain one in words, the Coop's in its fields."""
    await add_mediator(web_server, "marie", ["lyon"], name='=HYPERLINK("http://x")')
    answers = {"for_whom": "self", "age_band": "70_79", "goals": ["family_contact"], "location": "69003"}
    row = await create_request(
        web_server, phone="+33698765432", first_name="Jeanne", key="telegram:777", answers=answers
    )
    async with DashboardClient(web_server) as marie:
        await marie.sign_in("marie")
        _, page = await marie.page("/mediateurs/")
        assert 'formaction="/mediateurs/export-cra.csv">Bilan pour la Coop</button>' in page
        await marie.act(row.id, "prendre")
        await marie.act(row.id, "appel-fait", resultat="oriented", note="Secret de la note")
        await marie.act(row.id, "note", note="Secret de la note")
        today = now().astimezone(PARIS).date()  # the period's days are Paris days (at 00:30 in Paris, UTC is behind)
        period = {"du": (today - timedelta(days=1)).isoformat(), "au": today.isoformat()}
        texts = {}
        for path, name in (("export.csv", "activite"), ("export-cra.csv", "coop-cra")):
            async with marie.session.get(f"/mediateurs/{path}", params=period) as response:
                texts[path] = (await response.read()).decode("utf-8")
                assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
                assert response.headers["Content-Disposition"].startswith(f'attachment; filename="passerelle-{name}-')
                assert response.headers["Cache-Control"] == "no-store"
            for since, until in (("2026-13-01", "2026-12-01"), ("9999-12-31", "9999-12-31")):
                response, text = await marie.page(f"/mediateurs/{path}", params={"du": since, "au": until})
                assert response.status == 400, (path, since)  # not a 500: the period's bounds would overflow
            _, empty = await marie.page(f"/mediateurs/{path}?du=2001-01-01&au=2001-01-31")
            assert table(empty) == []  # a period without activity: the header alone
    for text in texts.values():
        for secret in PERSONAL:
            assert secret not in text
    (line,) = table(texts["export.csv"])
    assert header(texts["export.csv"]) == list(COLUMNS)
    assert (line["id"], line["file"], line["état"], line["résultat"], line["profil"]) == (
        row.id,
        LYON,
        "Appel fait",
        "Orienté vers un lieu",
        TIMIDE,
    )
    assert (line["canal"], line["pour qui"], line["tranche d'âge"]) == (
        "Telegram",
        "La personne elle-même",
        "70 à 79 ans",
    )
    assert (line["commune"], line["code INSEE"]) == ("Lyon", "69123")
    assert line["prise en charge par"] == '\'=HYPERLINK("http://x")'
    assert (line["tentatives"], line["minutes avant prise en charge"]) == ("0", "0")
    (cra,) = table(texts["export-cra.csv"])
    assert (cra["Date"], cra["Thématique(s) d’accompagnement"], cra["Tranche d’âge du bénéficiaire"]) == (
        today.strftime("%d/%m/%Y"),
        "Réseaux sociaux communication",
        "70 ans et plus",
    )
    assert (cra["Bénéficiaire réorienté"], cra["Médiateur"]) == ("Oui", '\'=HYPERLINK("http://x")')
    assert (cra["Commune du bénéficiaire"], cra["Code Insee du bénéficiaire"]) == ("Lyon", "69123")
    assert [safe_cell(v) for v in ("=1+1", "+33", "-2", "@SUM", "ok", 3)] == [
        "'=1+1",
        "'+33",
        "'-2",
        "'@SUM",
        "ok",
        "3",
    ]


@on_server
async def test_the_coop_export_counts_the_calls_made_in_the_period_in_my_queues(web_server: RunningServer) -> None:
    """A call is reported in the period it was made, whenever the request came; not the unreachable, the waiting,
    « Plus besoin d'aide », nor another queue's: that queue answers 404, like the activity export."""
    await add_mediator(web_server, "marie", ["lyon", "rhone"])
    await add_mediator(web_server, "paul", ["isere"])
    made = {
        name: await create_request(web_server, queue="lyon", key=f"web:{name}") for name in ("old", "late", "today")
    }
    rhone = await create_request(web_server, queue="rhone", key="web:rhone")
    waiting = await create_request(web_server, queue="lyon", key="web:waiting")
    no_need = await create_request(web_server, queue="lyon", key="web:no-need")
    unreachable = await create_request(web_server, queue="lyon", key="web:unreachable")
    isere = await create_request(web_server, queue="isere", key="web:isere")
    async with DashboardClient(web_server) as marie, DashboardClient(web_server) as paul:
        await marie.sign_in("marie")
        await paul.sign_in("paul")
        for row in [*made.values(), rhone]:
            await marie.act(row.id, "prendre")
            await marie.act(row.id, "appel-fait", resultat="helped")
        await marie.act(no_need.id, "prendre")
        await marie.act(no_need.id, "appel-fait", resultat="no_need")
        for _ in range(3):  # the queue's max_attempts: then it closes as unreachable
            await marie.act(unreachable.id, "prendre")
            await marie.act(unreachable.id, "injoignable")
        await paul.act(isere.id, "prendre")
        await paul.act(isere.id, "appel-fait", resultat="helped")
        await marie.act(waiting.id, "prendre")
        stored = await web_server.app.desk.get(unreachable.id)  # type: ignore[union-attr]
        assert stored is not None
        assert stored.status == "unreachable"
        long_ago = now() - timedelta(days=60)
        await set_times(web_server, made["old"].id, created_at=long_ago, resolved_at=long_ago, updated_at=long_ago)
        await set_times(web_server, made["late"].id, created_at=long_ago)  # asked 60 days ago, called today
        today = now().astimezone(PARIS).date()
        this_period = {"du": (today - timedelta(days=1)).isoformat(), "au": today.isoformat()}
        day = long_ago.astimezone(PARIS).date().isoformat()

        async def reported(client: DashboardClient, **query: str) -> list[str]:
            response, text = await client.page("/mediateurs/export-cra.csv", params=query)
            assert response.status == 200, text[:300]
            return [line["Référence de la demande"] for line in table(text)]

        assert await reported(marie, **this_period) == [made["late"].id, made["today"].id, rhone.id]
        assert await reported(marie, **this_period, file="rhone") == [rhone.id]
        assert await reported(marie, du=day, au=day) == [made["old"].id]
        assert await reported(paul, **this_period) == [isere.id]
        response, _ = await marie.page("/mediateurs/export-cra.csv", params={**this_period, "file": "isere"})
        assert response.status == 404
