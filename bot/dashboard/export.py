"""The activity export (`/mediateurs/export.csv`): one line per request created or changed in a period, for the
activity reports, in the coordinators' words (the queue's label, the profile's title, the flow's buttons), never
their ids. It leaves the system, so it holds no phone number, first name, note or conversation key: only what
the reports count. Semicolon-separated, UTF-8 with a byte order mark (Excel in French opens it as is), and
safe from formula injection: a cell starting with = + - @ (or a tab or carriage return) gets a leading quote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.callbacks.rules import OUTCOMES, STATUS_LABELS
from bot.callbacks.view import Describer
from bot.core.clock import PARIS
from bot.core.slots import UNKNOWN
from bot.storage.records import CallbackRow

COLUMNS = (
    "id",
    "file",
    "créée le",
    "état",
    "résultat",
    "tentatives",
    "prise en charge par",
    "prise le",
    "close le",
    "minutes avant prise en charge",
    "profil",
    "canal",
    "pour qui",
    "tranche d'âge",
    "commune",
    "code INSEE",
)
RESULT_LABELS = {**OUTCOMES, "unreachable": "Injoignable"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
CHANNELS = {"telegram": "Telegram", "web": "Chat web"}  # the request's channel -> its words
FOR_WHOM = {"self": "La personne elle-même", "relative": "Un proche"}
NOT_SAID = "Non communiqué"  # « Je ne sais pas » / « Je préfère ne pas répondre »
MAX_DAYS = 400  # a year and a bit: reports are monthly or yearly
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)  # the dates a period may take


class PeriodError(ValueError):
    """The period asked cannot be exported; `title` and `text` say why, in French, for the error page."""

    def __init__(self, title: str, text: str) -> None:
        super().__init__(text)
        self.title = title
        self.text = text


def asked_period(first: str | None, last: str | None, today: date) -> tuple[date, date]:
    """The days of the export's form (YYYY-MM-DD; missing: from the first of this month to today). Raises
    PeriodError."""
    try:
        since = date.fromisoformat(first or today.replace(day=1).isoformat())
        until = date.fromisoformat(last or today.isoformat())
    except ValueError:
        raise PeriodError("Dates invalides", "Donnez les dates sous la forme AAAA-MM-JJ.") from None
    if since < EARLIEST or until > LATEST:  # beyond, the period's bounds overflow a datetime
        raise PeriodError("Dates invalides", f"Donnez des dates entre {EARLIEST.year} et {LATEST.year}.")
    if until < since or (until - since).days > MAX_DAYS:
        raise PeriodError(
            "Période invalide", f"La date de fin doit suivre la date de début, sur {MAX_DAYS} jours au plus."
        )
    return since, until


def period(since: date, until: date) -> tuple[datetime, datetime]:
    """[first day 00:00, the day after the last 00:00) in Paris time, as aware datetimes."""
    start = datetime.combine(since, time(), PARIS)
    end = datetime.combine(until + timedelta(days=1), time(), PARIS)
    return start, end


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


@dataclass(frozen=True, slots=True)
class Words:
    """The coordinators' words for the ids a request holds, from the files in force."""

    queues: Mapping[str, str]  # queue name -> its label
    personas: Mapping[str, str]  # persona id -> its title
    age_bands: Mapping[str, str]  # age_band value -> the words on its button


def words_of(describer: Describer) -> Words:
    return Words(
        queues={queue.name: queue.label for queue in describer.queues.all},
        personas={persona.id: persona.title for persona in describer.personas.personas.values()},
        age_bands=describer.choice_labels("age_band"),
    )


def answer(row: CallbackRow, slot: str) -> str | None:
    """A single-valued answer of the request (None: not asked, not a single value, or erased by /oublier)."""
    value = (row.answers or {}).get(slot)
    return value if isinstance(value, str) else None


def channel(row: CallbackRow) -> str:
    """Where the person wrote from, in words: kept with the request, else its conversation key's prefix (older
    requests), "" when neither is left."""
    return CHANNELS.get(row.channel or (row.conversation_key or "").partition(":")[0], "")


def safe_rows(header: Iterable[str], lines: Iterable[Iterable[object]]) -> str:
    """The CSV text: BOM, semicolons, CRLF, every cell neutralised against formulas."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows([safe_cell(cell) for cell in line] for line in lines)
    return out.getvalue()


def _moment(value: datetime | None) -> str:
    return value.astimezone(PARIS).strftime("%Y-%m-%d %H:%M") if value else ""


def _line(row: CallbackRow, words: Words) -> tuple[object, ...]:
    minutes = (
        str(int((row.claimed_at - row.created_at).total_seconds() // 60)) if row.claimed_at and row.created_at else ""
    )
    age = answer(row, "age_band")
    for_whom = answer(row, "for_whom")
    return (
        row.id,
        words.queues.get(row.queue, row.queue),
        _moment(row.created_at),
        STATUS_LABELS.get(row.status, row.status),
        RESULT_LABELS.get(row.outcome or "", row.outcome or ""),
        row.attempts,
        row.claimed_name or "",
        _moment(row.claimed_at),
        _moment(row.resolved_at),
        minutes,
        words.personas.get(row.persona, row.persona) if row.persona else "",
        channel(row),
        FOR_WHOM.get(for_whom, "") if for_whom else "",
        (NOT_SAID if age == UNKNOWN else words.age_bands.get(age, age)) if age else "",
        row.commune or "",
        row.code_insee or "",
    )


def activity_csv(rows: Iterable[CallbackRow], words: Words) -> str:
    return safe_rows(COLUMNS, (_line(row, words) for row in rows))
