"""Error classes and the exit-code table, in one place.

Library code raises these; the CLI maps them (and page outcomes) to exit codes in one
handler. Page-level errors never reach it: they become that page's record.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of the `srsform` command (`meaning` is what `srsform --help` and
    the README's table say of each)."""

    OK = 0
    INTERNAL = 1
    USAGE = 2  # click's own code
    CONFIG = 3
    REVIEW = 4
    FAILED = 5
    INTERRUPTED = 130  # 128 + SIGINT, as shells report it

    @property
    def meaning(self) -> str:
        """What the code tells a person or a script, in one line."""
        return _MEANINGS[self]

    @classmethod
    def for_statuses(cls, counts: dict[str, int]) -> ExitCode:
        """The exit code of a run from its page statuses (and their counts), leaving out the
        pages a person set aside as not a form."""
        if counts.get("error") or counts.get("unreadable"):
            return cls.FAILED
        if counts.get("review") or counts.get("not_a_form"):
            return cls.REVIEW
        return cls.OK


_MEANINGS = {
    ExitCode.OK: "every page `ok`",
    ExitCode.INTERNAL: "internal error (a bug: please report it)",
    ExitCode.USAGE: "bad command-line usage",
    ExitCode.CONFIG: ("bad template, roster, input path, output path or store: nothing (more) "
                      "was processed"),
    ExitCode.REVIEW: "all pages processed; some are `review`, or `not_a_form` and not set aside "
                     "by a person",
    ExitCode.FAILED: "some pages are `unreadable` or `error`",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
}


class SrsformError(Exception):
    """Base class of every error srsform raises on purpose."""

    exit_code: ExitCode = ExitCode.INTERNAL


class ConfigError(SrsformError):
    """The user's configuration (template, roster, options, paths) is unusable."""

    exit_code = ExitCode.CONFIG


class DecidedMeanwhile(ConfigError):
    """Someone else decided an item (or page) after it was shown to this reviewer: nothing
    was changed, so that neither decision is lost unseen."""


class TemplateError(ConfigError):
    """A template file is missing or invalid; the message names the file and field."""


class RosterError(ConfigError):
    """A roster CSV is missing, empty or lacks a required column."""


class OutputError(ConfigError):
    """An output file cannot be written (no such folder, no permission, a folder in the way).

    Raised before any input is read, so nothing is processed or stored."""


class StoreError(ConfigError):
    """The record store cannot be used: not srsform's, damaged, read-only, busy, or on a full
    disk. What was stored before it happened is kept; the message says what to do."""


class PageError(SrsformError):
    """One page cannot be processed; becomes that page's record, never stops a batch.

    `status` is the page status the record gets ("error", "unreadable" or "not_a_form").
    """

    def __init__(self, message: str, status: str = "error") -> None:
        super().__init__(message)
        self.status = status


class DecodeError(PageError):
    """A file or page could not be decoded into an image."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status="error")


class NotAFormError(PageError):
    """The page carries no srsform registration marks or page code."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status="not_a_form")


class UnreadableError(PageError):
    """The page is one of ours, but its marks, code or lines could not be found."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status="unreadable")
