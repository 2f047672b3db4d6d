"""`catalogue/queues.yaml`: parsed and fully validated into a QueueSet (bot/callbacks/queues.py).

Every problem is collected, each with the file, the line and what to do, so a coordinator fixes them all at
once (`python -m bot flows check` runs this same loader). With the geography table, postcodes and INSEE codes
must exist and circles must be in France.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.callbacks.queuefields import (
    CODE_CHECKS,
    DAYS,
    LEVELS,
    MAX_KM,
    MAX_LABEL,
    NAME,
    TIME,
    code_text,
    day_range,
    empty_block,
    unknown_keys,
)
from bot.callbacks.queues import DEFAULT_NAME, OFFICE_HOURS, Around, Queue, QueueSet, TimeRange, WorkingHours
from bot.callbacks.worktime import Calendar, holiday_area
from bot.core.errors import FlowError, Problem
from bot.language.checks import Collector
from bot.language.yamlload import LineDict, LineList, read_yaml
from bot.places.geo import FAR_KM, Geo, distance_km

TOP_KEYS = ("default", "queues")
COMMON_KEYS = ("label", "telegram_chat_id", "mediators", "hours", "timezone", "target_minutes", "max_attempts")
DEFAULT_KEYS = COMMON_KEYS
QUEUE_KEYS = ("name", "label", "territory", *COMMON_KEYS[1:])
TERRITORY_KEYS = ("postcodes", "insee", "departments", "around")
AROUND_KEYS = ("lat", "lon", "km")
HOURS_KEYS = ("days", "from", "to")


def load_queues(path: Path | None, *, default_chat_id: int | None, geo: Geo | None = None) -> QueueSet:
    """The queues of `path`; no file (or None): only the default queue. `default_chat_id` (MEDIATOR_CHAT_ID)
    sets the default queue's group, over the file's. Raises FlowError listing every problem."""
    if path is None or not path.exists():
        return QueueSet.only_default(default_chat_id)
    _, data = read_yaml(path)
    queues = parse_queues(data, str(path), geo)
    if default_chat_id is not None:
        return QueueSet(replace(queues.default, telegram_chat_id=default_chat_id), queues.territorial)
    return queues


def parse_queues(data: Any, file: str, geo: Geo | None = None) -> QueueSet:
    """The QueueSet of a parsed file; raises FlowError with every problem found."""
    if not isinstance(data, LineDict) or not set(data) & set(TOP_KEYS):
        raise FlowError(
            [
                Problem(
                    file,
                    1,
                    "le fichier commence par un bloc `default:` et/ou une liste `queues:` (voir catalogue/README.md)",
                )
            ]
        )
    return _Parser(file, geo).parse(data)


class _Parser:
    def __init__(self, file: str, geo: Geo | None) -> None:
        self.out = Collector(file)
        self.geo = geo
        self.names: dict[str, int] = {}
        # (level, code) -> (queue, line) of the first queue claiming it; circles by (lat, lon, km).
        self.claims: dict[tuple[str, str], tuple[str, int, int]] = {}
        self.circles: dict[tuple[float, float, float], tuple[str, int, int]] = {}
        self.index = -1  # of the queue being read, in `queues:`

    def add(self, line: int, message: str) -> None:
        self.out.add(line, message)

    def parse(self, data: LineDict) -> QueueSet:
        unknown_keys(data, TOP_KEYS, "", self.out)
        raw_default = data.get("default")
        if raw_default is None:
            raw_default = empty_block(data.line)
        elif not isinstance(raw_default, LineDict):
            self.add(data.line_of("default"), "`default` doit contenir ses clés (label, hours, target_minutes, …)")
            raw_default = empty_block(data.line_of("default"))
        default = self.queue(raw_default, DEFAULT_NAME, None)
        raw_queues = data.get("queues")
        if "queues" in data and not isinstance(raw_queues, LineList):
            self.add(
                data.line_of("queues"), "`queues` doit être une liste de files, chacune commençant par `- name: …`"
            )
        items: LineList = raw_queues if isinstance(raw_queues, LineList) else LineList()
        territorial: list[Queue] = []
        for index, raw in enumerate(items):
            if not isinstance(raw, LineDict):
                self.add(items.line_of(index), "chaque file commence par `- name: …`, suivi de ses clés")
                continue
            self.index = index
            territorial.append(self.queue(raw, self.name(raw), default))
        if self.out.problems:
            raise FlowError(self.out.problems)
        return QueueSet(default, tuple(territorial))

    def name(self, raw: LineDict) -> str:
        if "name" not in raw:
            self.add(raw.line, "une file sans `name` ; donnez-lui un nom court comme `lyon` (a-z, 0-9, _ et -)")
            return f"line-{raw.line}"
        line, name = raw.line_of("name"), str(raw["name"])
        if name == DEFAULT_NAME:
            self.add(line, "le nom `default` est réservé au bloc `default:` ; choisissez un autre nom")
        elif not NAME.match(name):
            self.add(
                line,
                f"nom de file `{name}` : 1 à 64 caractères parmi a-z, 0-9, _ et - (ni majuscule, ni espace, ni accent)",
            )
        elif name in self.names:
            self.add(
                line, f"le nom de file `{name}` est déjà pris ligne {self.names[name]} ; chaque file a son propre nom"
            )
        self.names.setdefault(name, line)
        return name

    def queue(self, raw: LineDict, name: str, default: Queue | None) -> Queue:
        """The `default:` block (default is None) or a territorial queue, inheriting the default's settings."""
        where = "file par défaut : " if default is None else f"file `{name}` : "
        if default is None:
            unknown_keys(raw, (*DEFAULT_KEYS, "territory", "name"), where, self.out)
            if "territory" in raw:
                self.add(
                    raw.line_of("territory"),
                    f"{where}pas de `territory` : elle reçoit ce qu'aucune autre file ne couvre ; retirez-le",
                )
            if "name" in raw:
                self.add(raw.line_of("name"), f"{where}pas de `name` : elle s'appelle toujours `default` ; retirez-le")
        else:
            unknown_keys(raw, QUEUE_KEYS, where, self.out)
        base = default or QueueSet.only_default().default
        label = base.label
        if "label" in raw:
            text = raw["label"]
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_LABEL:
                self.add(raw.line_of("label"), f"{where}`label` doit être un texte de 1 à {MAX_LABEL} caractères")
            else:
                label = " ".join(text.split())
        elif default is not None:
            self.add(
                raw.line, f"{where}il manque `label` : le nom de l'équipe tel que la personne le lira (« la Maison … »)"
            )
        territory: dict[str, frozenset[str]] = {}
        around = None
        if default is not None:
            territory, around = self.territory(raw, name, where)
        departments = territory.get("departments", frozenset())
        hours = self.hours(raw["hours"], raw.line_of("hours"), where) if "hours" in raw else base.hours
        # the queue's clock: its time zone, and the public holidays of its overseas department or of Moselle
        calendar = Calendar(self.zone(raw, where, base.hours.calendar.zone), holiday_area(departments))
        return Queue(
            name,
            label,
            departments=departments,
            postcodes=territory.get("postcodes", frozenset()),
            insee=territory.get("insee", frozenset()),
            around=around,
            telegram_chat_id=self.chat_id(raw, where),
            mediators=self.mediators(raw, where),
            hours=replace(hours, calendar=calendar),
            target_minutes=self.integer(raw, "target_minutes", 1, None, base.target_minutes, where),
            max_attempts=self.integer(raw, "max_attempts", 1, 10, base.max_attempts, where),
            line=raw.line,
        )

    # ----- territory ----------------------------------------------------------------------------------------
    def territory(self, raw: LineDict, name: str, where: str) -> tuple[dict[str, frozenset[str]], Around | None]:
        value = raw.get("territory")
        hint = "indiquez `postcodes`, `insee`, `departments` ou `around`"
        if not isinstance(value, LineDict):
            message = "il manque `territory`" if value is None else "`territory` doit contenir ses clés"
            self.add(raw.line_of("territory"), f"{where}{message}: {hint}")
            return {}, None
        unknown_keys(value, TERRITORY_KEYS, where + "territory : ", self.out)
        if not any(value.get(key) not in (None, "", [], {}) for key in TERRITORY_KEYS):
            self.add(
                raw.line_of("territory"),
                f"{where}territoire vide : {hint}, ou retirez la file (la file par défaut reçoit ce qu'aucune "
                "file ne couvre)",
            )
            return {}, None
        codes = {key: frozenset(self.codes(value, key, name, where)) for key in ("postcodes", "insee", "departments")}
        return codes, self.around(value, name, where)

    def codes(self, territory: LineDict, key: str, name: str, where: str) -> list[str]:
        """One list of codes, each checked, and claimed for this queue at its level."""
        if key not in territory or territory[key] is None:
            return []
        value = territory[key]
        items = value if isinstance(value, LineList) else [value]
        found: list[str] = []
        seen: dict[str, int] = {}
        level = LEVELS[key]
        for index, item in enumerate(items):
            line = items.line_of(index) if isinstance(items, LineList) else territory.line_of(key)
            code = code_text(item)
            problem = CODE_CHECKS[key](code, self.geo)
            if problem:
                self.add(line, f"{where}{problem}")
                continue
            if code in seen:
                self.add(line, f"{where}{level} `{code}` écrit deux fois (aussi ligne {seen[code]}) ; gardez-en un")
                continue
            seen[code] = line
            first = self.claims.setdefault((key, code), (name, line, self.index))
            if first[2] != self.index:
                self.add(
                    line,
                    f"{where}{level} `{code}` déjà dans la file `{first[0]}` (ligne {first[1]}) ; un {level} "
                    "n'appartient qu'à une file : retirez-le de l'une des deux",
                )
                continue
            found.append(code)
        return found

    def around(self, territory: LineDict, name: str, where: str) -> Around | None:
        if "around" not in territory or territory["around"] is None:
            return None
        raw, line = territory["around"], territory.line_of("around")
        if not isinstance(raw, LineDict):
            self.add(line, f"{where}`around` s'écrit {{lat: 45.76, lon: 4.83, km: 10}}")
            return None
        unknown_keys(raw, AROUND_KEYS, where + "around : ", self.out)
        lat = self.number(raw, "lat", -90, 90, "une latitude en degrés entre -90 et 90 (45.76 pour Lyon)", where)
        lon = self.number(raw, "lon", -180, 180, "une longitude en degrés entre -180 et 180 (4.83 pour Lyon)", where)
        km = self.number(raw, "km", 0, MAX_KM, f"un rayon en kilomètres, plus de 0 et au plus {MAX_KM:g}", where)
        if lat is None or lon is None or km is None:
            return None
        if self.geo is not None:
            near = self.geo.nearest_commune(lat, lon)
            if near.lat is not None and near.lon is not None and distance_km(lat, lon, near.lat, near.lon) > FAR_KM:
                self.add(
                    line, f"{where}le centre {lat}, {lon} n'est pas en France ; `lat` et `lon` seraient-ils inversés ?"
                )
                return None
        first = self.circles.setdefault((lat, lon, km), (name, line, self.index))
        if first[2] != self.index:
            self.add(
                line, f"{where}le même cercle est déjà celui de la file `{first[0]}` (ligne {first[1]}) ; gardez-en un"
            )
            return None
        return Around(lat, lon, km)

    def number(self, raw: LineDict, key: str, low: float, high: float, what: str, where: str) -> float | None:
        value = raw.get(key)
        number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        if number is None or not (low < number if key == "km" else low <= number) or number > high:
            missing = key not in raw
            self.add(
                raw.line_of(key), f"{where}around : `{key}` {'manquant' if missing else 'incorrect'} ; écrivez {what}"
            )
            return None
        return number

    # ----- settings -------------------------------------------------------------------------------------------
    def chat_id(self, raw: LineDict, where: str) -> int | None:
        value = raw.get("telegram_chat_id")
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value >= 0:
            self.add(
                raw.line_of("telegram_chat_id"),
                f"{where}`telegram_chat_id` doit être l'identifiant négatif d'un groupe Telegram, sans guillemets "
                "(par exemple -1001234567890) ; un identifiant positif est une personne, pas un groupe",
            )
            return None
        return value

    def mediators(self, raw: LineDict, where: str) -> frozenset[int]:
        value = raw.get("mediators")
        if value is None:
            return frozenset()
        if not isinstance(value, LineList):
            self.add(
                raw.line_of("mediators"), f"{where}`mediators` doit être une liste d'identifiants Telegram : [123, 456]"
            )
            return frozenset()
        ids = []
        for index, item in enumerate(value):
            if not isinstance(item, int) or isinstance(item, bool) or item <= 0:
                self.add(
                    value.line_of(index),
                    f"{where}le médiateur `{item}` doit être un identifiant Telegram : un nombre entier positif, "
                    "sans guillemets",
                )
            else:
                ids.append(item)
        return frozenset(ids)

    def zone(self, raw: LineDict, where: str, fallback: ZoneInfo) -> ZoneInfo:
        value = raw.get("timezone")
        if value is None:
            return fallback
        try:
            return ZoneInfo(str(value)) if isinstance(value, str) and value.strip() else ZoneInfo("")
        except (ZoneInfoNotFoundError, ValueError):
            self.add(
                raw.line_of("timezone"),
                f"{where}`timezone` : fuseau horaire inconnu {value!r} ; écrivez son nom, par exemple "
                '"America/Martinique", "Indian/Reunion" ou "Europe/Paris"',
            )
            return fallback

    def integer(self, raw: LineDict, key: str, low: int, high: int | None, fallback: int, where: str) -> int:
        if key not in raw:
            return fallback
        value = raw[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
            bounds = f"de {low} à {high}" if high is not None else f"d'au moins {low}"
            self.add(raw.line_of(key), f"{where}`{key}` doit être un nombre entier {bounds}, pas {value!r}")
            return fallback
        return value

    def hours(self, value: Any, line: int, where: str) -> WorkingHours:
        blocks = value if isinstance(value, LineList) else [value]
        ranges = []
        for index, block in enumerate(blocks):
            block_line = blocks.line_of(index) if isinstance(blocks, LineList) else line
            if not isinstance(block, LineDict):
                self.add(
                    block_line,
                    f'{where}`hours` s\'écrit {{days: [lundi, …], from: "09:00", to: "17:00"}}, ou une liste '
                    "de ces blocs",
                )
                continue
            found = self.time_range(block, where)
            if found is not None:
                ranges.append(found)
        if not ranges:
            if not blocks:
                self.add(line, f'{where}`hours` est vide : écrivez {{days: [lundi, …], from: "09:00", to: "17:00"}}')
            return OFFICE_HOURS
        return WorkingHours(tuple(ranges))

    def time_range(self, block: LineDict, where: str) -> TimeRange | None:
        unknown_keys(block, HOURS_KEYS, where + "hours : ", self.out)
        days = self.days(block, where)
        start, end = (self.time(block, key, where) for key in ("from", "to"))
        if days is None or start is None or end is None:
            return None
        if start >= end:
            self.add(
                block.line_of("from"),
                f"{where}hours : `from` ({block['from']}) doit précéder `to` ({block['to']}) ; "
                "pour des horaires après minuit, écrivez deux plages",
            )
            return None
        return TimeRange(days, start, end)

    def days(self, block: LineDict, where: str) -> frozenset[int] | None:
        value = block.get("days")
        line = block.line_of("days")
        if value is None:
            self.add(line, f"{where}hours : il manque `days`, par exemple [lundi, mardi, mercredi, jeudi, vendredi]")
            return None
        items = value if isinstance(value, LineList) else [value]
        days: set[int] = set()
        ok = bool(items)
        for index, item in enumerate(items):
            item_line = items.line_of(index) if isinstance(items, LineList) else line
            found = day_range(str(item))
            if found is None:
                close = difflib.get_close_matches(str(item).casefold(), list(DAYS)[:7], n=1, cutoff=0.6)
                hint = f"vouliez-vous dire `{close[0]}` ?" if close else "écrivez lundi … dimanche (ou mon … sun)"
                self.add(item_line, f"{where}hours : jour `{item}` inconnu ; {hint}")
                ok = False
            else:
                days |= found
        if not items:
            self.add(line, f"{where}hours : `days` est vide ; indiquez les jours travaillés : [lundi, mardi, …]")
        return frozenset(days) if ok else None

    def time(self, block: LineDict, key: str, where: str) -> int | None:
        value = block.get(key)
        found = TIME.match(value) if isinstance(value, str) else None
        minutes = int(found[1]) * 60 + int(found[2]) if found and int(found[2]) < 60 else None
        if minutes is None or minutes > 24 * 60:
            what = "manquant" if key not in block else f"`{value}` n'est pas une heure"
            self.add(block.line_of(key), f'{where}hours : `{key}` {what} ; écrivez-la "HH:MM", par exemple "09:00"')
            return None
        return minutes
