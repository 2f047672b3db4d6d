"""Reloading the coordinators' files in a running process: the flow with its messages and personas (FLOWS_DIR)
and the mediators' queues (CATALOGUE_DIR/queues.yaml), on SIGHUP and when their files change.

The files are read with the loaders of start-up and `flows check` (bot/app/root.py: `load_data_files`) and taken whole
or not at all: when any of them has a problem nothing changes, each problem is logged (ERROR) as
`file:line: message`, and the bot goes on with the version it runs. A set that loads is swapped in between two
turns, in the one holder everything reads them from (`App.files`): new conversations start on the new flow, those
under way keep the version they started with (bot/engine/engine.py), callback requests are routed by the new queues
and the mediators see the new labels.

The watcher looks at the files' modification times, sizes and inodes every few seconds, and reloads once a change
has stayed the same for one more look, so that a file still being copied is not read half-written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from bot.app.root import DEFAULT_FLOW, QUEUES_FILE, App, load_data_files
from bot.core.errors import FlowError, StorageError
from bot.core.tasks import Job

log = logging.getLogger(__name__)
RELOAD_INTERVAL = 2.0  # seconds between two looks at the files
CHANGED = "fichiers modifiés"  # the reason logged when the watcher saw the files change
FileMark = tuple[str, int, int, int]  # path, modification time (ns), size, inode; -1s when the file is missing


class Reloader(Job):
    """Watches while `async with reloader:` lasts; `reload` swaps a set in on demand."""

    job_name = "reload"

    def __init__(self, app: App, flow_path: Path | None = None, *, interval: float | None = RELOAD_INTERVAL) -> None:
        """`flow_path`: the flow the process runs (default FLOWS_DIR/orientation.yaml). `interval`: seconds between
        two looks at the files; None: reload only when asked (`request`, SIGHUP)."""
        self.app = app
        self.flow_path = flow_path or app.settings.flows_dir / DEFAULT_FLOW
        self.interval = interval
        self.reloads = 0  # sets swapped in
        self.refusals = 0  # sets refused for their problems
        self._requested = asyncio.Event()
        self._retry = False  # loaded, but the database could not remember the flow: try again at the next look
        self._marks = self.marks()  # the files as the running version was read from them (or refused)

    def request(self) -> None:
        """Reload at the first occasion, whether the files changed or not (SIGHUP)."""
        self._requested.set()

    def files(self) -> list[Path]:
        """The files watched: the YAML files beside the flow (the flow, messages.yaml, the personas) and the
        queues file (which may not exist)."""
        folder = self.flow_path.parent
        found = {p for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml")}
        return sorted(found | {self.flow_path, self.app.settings.catalogue_dir / QUEUES_FILE})

    def marks(self) -> tuple[FileMark, ...]:
        marks: list[FileMark] = []
        for path in self.files():
            try:
                stat = path.stat()
            except OSError:
                marks.append((str(path), -1, -1, -1))
            else:
                marks.append((str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino))
        return tuple(marks)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Until `stop` is set (or cancelled): reload when asked, and when the files changed then stayed the same
        for one look."""
        seen = self._marks
        while stop is None or not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._requested.wait(), self.interval)
            try:
                if self._requested.is_set():
                    self._requested.clear()
                    await self.reload("SIGHUP")
                    seen = self._marks
                    continue
                now = self.marks()
                if (now != self._marks or self._retry) and now == seen:
                    await self.reload(CHANGED)
                seen = now
            except Exception:  # a bug: say so, and keep watching with the version in place
                log.exception(
                    "le rechargement du parcours et des files a échoué (erreur du programme) ; la version en service "
                    "est gardée"
                )

    async def reload(self, reason: str) -> bool:
        """Read the files and swap them in; False when they are refused (the running version stays)."""
        marks = self.marks()  # before reading: a change made during the read is seen at the next look
        app = self.app
        try:
            files = await asyncio.to_thread(load_data_files, app.settings, self.flow_path, app.geo.geo)
        except FlowError as exc:
            self._marks, self._retry = marks, False  # refused: not read again until the files change
            self.refusals += 1
            for problem in exc.problems:
                log.error("rechargement refusé : %s", problem)
            log.error(
                "rechargement (%s) refusé : %d problème(s) dans les fichiers ; le robot garde la version en service. "
                "Corrigez-les (`python -m bot flows check` les liste) et enregistrez : le rechargement se refera",
                reason,
                len(exc.problems),
            )
            return False
        except Exception:  # a bug of a loader: the files are refused all the same, said once with the traceback
            self._marks, self._retry = marks, False
            self.refusals += 1
            log.exception(
                "rechargement (%s) : la lecture des fichiers a échoué (erreur du programme) ; le robot garde la "
                "version en service",
                reason,
            )
            return False
        flow, personas = files.flow, files.personas
        try:
            # The engine remembers the new version first (conversations under way keep theirs): that may fail.
            await app.engine.replace_flow(flow, personas)
        except StorageError as exc:
            self._retry = True
            log.warning(
                "rechargement (%s) reporté : la base de données ne peut pas enregistrer le nouveau parcours (%s) ; "
                "nouvel essai au prochain passage",
                reason,
                exc,
            )
            return False
        # Nothing waits from the engine's swap to this one: no turn sees half of the new set.
        app.files.swap(files)
        self._marks, self._retry = marks, False
        self.reloads += 1
        log.info(
            "rechargé (%s) : parcours `%s` version %s depuis %s, %d profil(s), %d file(s) de médiateurs ; les "
            "nouvelles conversations le suivent",
            reason,
            flow.name,
            flow.version,
            flow.file,
            len(personas.personas),
            len(files.queues.all),
        )
        return True
