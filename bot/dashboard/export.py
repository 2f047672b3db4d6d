"""The activity export (`/mediateurs/export.csv`): one line per request created or changed in a period, for the
activity reports. It leaves the system, so it holds no phone number, first name, answer or note: only what
the reports count. Semicolon-separated, UTF-8 with a byte order mark (Excel in French opens it as is), and
safe from formula injection: a cell starting with = + - @ (or a tab or carriage return) gets a leading quote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from bot.callbacks.rules import OUTCOMES, STATUS_LABELS
from bot.core.clock import PARIS
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
)
RESULT_LABELS = {**OUTCOMES, "unreachable": "Injoignable"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
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


def _moment(value: datetime | None) -> str:
    return value.astimezone(PARIS).strftime("%Y-%m-%d %H:%M") if value else ""


def activity_csv(rows: Iterable[CallbackRow]) -> str:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    for row in rows:
        minutes = (
            str(int((row.claimed_at - row.created_at).total_seconds() // 60))
            if row.claimed_at and row.created_at
            else ""
        )
        writer.writerow(
            safe_cell(cell)
            for cell in (
                row.id,
                row.queue,
                _moment(row.created_at),
                STATUS_LABELS.get(row.status, row.status),
                RESULT_LABELS.get(row.outcome or "", row.outcome or ""),
                row.attempts,
                row.claimed_name or "",
                _moment(row.claimed_at),
                _moment(row.resolved_at),
                minutes,
                row.persona or "",
            )
        )
    return out.getvalue()
