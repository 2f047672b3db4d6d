"""The small exception tree: every error the bot raises on purpose derives from BotError."""

from __future__ import annotations

import traceback
from dataclasses import dataclass


class BotError(Exception):
    """Base of every error raised on purpose by the bot."""


class ConfigError(BotError):
    """A setting is missing or wrong; the message names it and what is expected."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in a data file, located precisely for the coordinator."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        # One problem, one line (`flows check` prints them so), even when the message quotes a key or a value
        # holding line breaks.
        return f"{self.file}:{self.line}: {' '.join(self.message.splitlines())}"


class FlowError(BotError):
    """A flow or persona file is invalid. Carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class CatalogueError(BotError):
    """An offer file cannot be read at all (not UTF-8, not CSV or a JSON array, no column of the standard).
    Problems of single rows are reported with the import instead."""


class StorageError(BotError):
    """The database could not do what was asked."""


class ConflictError(StorageError):
    """Another writer changed the conversation in between; the turn must be retried."""


# ----- an unexpected error at an edge, logged without personal data ----------------------------------------------
def failure_summary(error: BaseException, at_most: int = 5) -> str:
    """The error's class and those of the errors that led to it, nearest first: "RuntimeError (from ValueError)".
    Never their messages: they may quote personal data (what a person wrote, the parameters of a SQL statement)."""
    causes: list[str] = []
    cause = error.__cause__ or error.__context__
    while cause is not None and len(causes) < at_most:
        causes.append(cause.__class__.__name__)
        cause = cause.__cause__ or cause.__context__
    return error.__class__.__name__ + (f" (from {' < '.join(causes)})" if causes else "")


def failure_frames(error: BaseException) -> str:
    """Where the error happened (its traceback's frames), without what it said, for the same reason."""
    return "".join(traceback.format_tb(error.__traceback__)).rstrip()
