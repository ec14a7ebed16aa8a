"""The `srsform` command: parse options, call the library, map errors to exit codes."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.shell_completion import CompletionItem

from .errors import ConfigError, ExitCode, OutputError, SrsformError
from .form.layout import PAPERS_MM, build_layout
from .form.pagecode import PageCode, new_serial
from .form.roster import read_roster
from .form.templates import (
    DEFAULT_BOUNDARY_MARGIN_MM,
    MAX_BOUNDARY_MARGIN_MM,
    bundled_names,
    load_bundled,
    load_template,
)
from .outputs import STDOUT, atomic_output, check_writable
from .places import ENV_VAR, STORE_NAME, find_store, make_store_folder
from .records import PAGE_STATUSES, PageFilter, PageResult, PrintedForm
from .report import review
from .report.export import FORMATS, guess_format, write_records
from .store import Store

if TYPE_CHECKING:
    from .read.pipeline import ScanConfig

# Reading pages loads OpenCV, NumPy and pikepdf: `scan` and `watch` import the read stage
# inside the command, so that printing, review, export and audit never load them.

log = logging.getLogger("srsform")

# One worker process per two cores: each worker reads the next page on a second thread while
# it measures one (on two cores one worker is as fast as two, and spares a pool's start-up).
DEFAULT_JOBS = max(1, (os.cpu_count() or 1) // 2)

# -q and -v are counted wherever they are given, before the command or after it: click
# shares a context's `meta` with every context nested in it.
_QUIET, _VERBOSE = "srsform.quiet", "srsform.verbose"
_LOG_LEVELS = (logging.WARNING, logging.INFO, logging.DEBUG)


# --- -q/-v on every command, one error handler, help that ends in exit codes ----------------

def _note_verbosity(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """Option callback: add this -q/-v to those already given, then set the log level."""
    if param.name == "quiet":
        ctx.meta[_QUIET] = bool(ctx.meta.get(_QUIET) or value)
    else:
        ctx.meta[_VERBOSE] = ctx.meta.get(_VERBOSE, 0) + (value or 0)
    verbose = ctx.meta.get(_VERBOSE, 0)
    level = logging.ERROR if ctx.meta.get(_QUIET) else _LOG_LEVELS[min(verbose, 2)]
    logging.basicConfig(format="srsform: %(levelname)s: %(message)s", stream=sys.stderr)
    log.setLevel(level)
    # Other libraries' notes (pikepdf, PIL) only at -vv: -v is one line per page.
    logging.getLogger().setLevel(level if verbose >= 2 else max(level, logging.WARNING))


def _verbosity_options() -> list[click.Parameter]:
    return [
        click.Option(["-v", "--verbose"], count=True, expose_value=False,
                     callback=_note_verbosity,
                     help="More on stderr: one line per page read (-vv: debug, tracebacks)."),
        click.Option(["-q", "--quiet"], is_flag=True, expose_value=False,
                     callback=_note_verbosity,
                     help="Only errors on stderr: no progress bar, no summary line."),
    ]


class _Command(click.Command):
    """An srsform command: takes -q and -v after its name as well as before it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(_verbosity_options())


class _Group(click.Group):
    """A group of srsform commands: it and every command in it take -q and -v."""

    command_class = _Command

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(_verbosity_options())


class _Main(_Group):
    """Maps srsform errors to one clear line and an exit code; tracebacks only with -v."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except SrsformError as exc:
            _fail(ctx, str(exc), exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("srsform: interrupted", err=True)
            ctx.exit(int(ExitCode.INTERRUPTED))
        except BrokenPipeError:
            # The reader of our output went away (e.g. `| head`): stop quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(int(ExitCode.OK))
        except Exception as exc:  # noqa: BLE001 - the one place unexpected errors are shown
            _fail(ctx, f"internal error: {exc!r} (run with -v for details; please report it)",
                  ExitCode.INTERNAL)


def _fail(ctx: click.Context, message: str, code: int) -> None:
    if ctx.meta.get(_VERBOSE):
        log.exception("details")
    click.echo(f"srsform: error: {message}", err=True)
    ctx.exit(int(code))


def _say(message: str) -> None:
    """A progress or summary line on stderr (stdout is for data), unless -q was given."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or not ctx.meta.get(_QUIET):
        click.echo(f"srsform: {message}", err=True)


def _quiet(ctx: click.Context) -> bool:
    return bool(ctx.meta.get(_QUIET))


Codes = Iterable[ExitCode | tuple[ExitCode, str]]


def _exit_code_lines(codes: Codes) -> str:
    """Exit codes as a help paragraph kept as written; (code, words) where the table's
    words do not fit the command. Internal error (1) and bad usage (2) are always listed."""
    rows = dict(code if isinstance(code, tuple) else (code, code.meaning) for code in codes)
    for always in (ExitCode.INTERNAL, ExitCode.USAGE):
        rows.setdefault(always, always.meaning)
    lines = [f"  {int(code):>3}  {rows[code]}" for code in sorted(rows)]
    return "\b\nExit codes:\n" + "\n".join(lines)


def _epilog(codes: Codes, *examples: str) -> str:
    """The end of a command's help: the exit codes it returns, then an example or two."""
    return (_exit_code_lines(codes) + "\n\n\b\nExamples:\n"
            + "\n".join(f"  {example}" for example in examples))


_STORE_RULE = (f"The store: --db, else ${ENV_VAR}, else {STORE_NAME} in the current folder "
               "if there is one, else your per-user store (`srsform info` says which).")
_COMPLETION = ("\b\nShell completion (in ~/.bashrc; zsh: zsh_source in ~/.zshrc):\n"
               '  eval "$(_SRSFORM_COMPLETE=bash_source srsform)"')


@click.group(cls=_Main, epilog=(
    _exit_code_lines(ExitCode) + f"\n\n{_STORE_RULE}\n\n{_COMPLETION}\n\n\b\nExamples:\n"
    "  srsform print -o blank.pdf\n  srsform scan scans/ -o results.csv"))
@click.version_option(package_name="srsform", prog_name="srsform")
def main() -> None:
    """Print and read paper Session Rating Scale / Outcome Rating Scale forms.

    Every command takes -q and -v before or after its name. A file name '-' is standard
    output, or standard input for `scan` and `print --roster`."""
    # Records, exports and the store's journal files are clinical data: owner only.
    os.umask(0o077)


@main.command("info", epilog=_epilog(
    [(ExitCode.OK, "the store was described"),
     (ExitCode.CONFIG, "a file is there but it is not a usable srsform store")],
    "srsform info", "SRSFORM_DB=~/clinic.db srsform info"))
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              help="A store to describe instead of the one found by default.")
def info_command(db_path: Path | None) -> None:
    """Which record store commands run here use, what chose it, and what it holds."""
    place = find_store(db_path)
    rows = [("store", str(place.path)), ("chosen by", place.chosen_by),
            ("exists", "yes" if place.path.exists() else "no")]
    if place.path.exists():
        with Store(place.path) as store:
            counts = store.counts()
            rows += [("files", str(counts["sources"])), ("pages", str(counts["pages"])),
                     ("corrections", str(counts["corrections"])),
                     ("evidence", str(store.evidence_dir))]
    for name, value in rows:
        click.echo(f"{name}\t{value}")


@main.command("templates", epilog=_epilog([(ExitCode.OK, "the templates were listed")],
                                          "srsform templates"))
def templates_command() -> None:
    """List the bundled templates (id, version, title)."""
    for template in load_bundled():
        click.echo(f"{template.id}\t{template.version}\t{template.title}")


def _complete_template(ctx: click.Context, param: click.Parameter, incomplete: str
                       ) -> list[CompletionItem]:
    """Shell completion for --template: a bundled name, else a template file's path."""
    names = [name for name in bundled_names() if name.startswith(incomplete)]
    return [CompletionItem(name) for name in names] or [CompletionItem(incomplete, type="file")]


_TEMPLATE_HELP = "Bundled template name (see `srsform templates`) or path to a template .toml."
_DB_HELP = (f"The record store (SQLite). Default: ${ENV_VAR}, else {STORE_NAME} in the "
            "current folder if there is one, else your per-user store (see `srsform info`).")


def _db_option(extra: str = "") -> Callable:
    return click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
                        default=None, help=_DB_HELP + extra)


def _open_store(db_path: Path | None, *, create: bool = False) -> Store:
    """The store find_store picks, opened. Only `scan` and `watch` create one (and say so
    on stderr, once); other commands need one that exists."""
    place = find_store(db_path)
    if place.path.exists():
        return Store(place.path)
    if not create:
        raise ConfigError(f"no store at {place.path} ({place.chosen_by}): scan forms into it "
                          "first (srsform scan ...), or name another store with --db or "
                          f"{ENV_VAR}")
    make_store_folder(place)
    store = Store(place.path)
    why = {"--db": "", ENV_VAR: f" (named by {ENV_VAR})"}.get(
        place.chosen_by, f" ({place.chosen_by}; --db or {ENV_VAR} name another)")
    _say(f"created a new store {place.path}{why}")
    return store


def _where(output: str | Path) -> str:
    return "standard output" if str(output) == STDOUT else str(output)


@main.command("print", epilog=_epilog(
    [(ExitCode.OK, "the PDF was written"),
     (ExitCode.CONFIG, "bad template, roster or output path: nothing was written"),
     ExitCode.INTERRUPTED],
    "srsform print --template ors --paper letter --copies 20 -o ors.pdf",
    "srsform print --roster roster.csv -o - | lp"))
@click.option("-t", "--template", "template_name", default="srs", show_default=True,
              shell_complete=_complete_template, help=_TEMPLATE_HELP)
@click.option("--paper", type=click.Choice(sorted(PAPERS_MM)), default="a4", show_default=True,
              help="Paper size the form is laid out for (print at 100%, 'actual size').")
@click.option("--copies", type=click.IntRange(min=1, max=10000), default=1, show_default=True,
              help="Blank copies, each with its own serial (ignored with --roster).")
@click.option("--roster", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              help="CSV with columns client, session, date: one personalised page per row "
                   "('-' reads it from standard input).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              default=Path("forms.pdf"), show_default=True,
              help="PDF file to write ('-' for standard output).")
@_db_option(" Its printed-forms register records these pages.")
def print_command(template_name: str, paper: str, copies: int, roster: Path | None,
                  output: Path, db_path: Path) -> None:
    """Print blank or personalised forms to a PDF, and record each page in the store's
    printed-forms register (so that scans are linked to it and forms that never came back
    are found)."""
    from .form.render import PageSpec, render_pdf  # reportlab: loaded only to print

    check_writable(output, binary=True)
    template = load_template(template_name)
    layout = build_layout(template)

    def code(client: str | None = None, session: int | None = None) -> PageCode:
        return PageCode(template.id, template.version, layout.layout_id, new_serial(),
                        client, session)

    if roster is not None:
        specs = [PageSpec(code(row.client, row.session), row.date or None)
                 for row in read_roster(roster)]
    else:
        specs = [PageSpec(code()) for _ in range(copies)]
    with atomic_output(output, binary=True) as out:
        count = render_pdf(template, layout, specs, paper, out)
    _say(f"wrote {count} page(s) of '{template.id}' ({paper}, layout {layout.layout_id}) to "
         f"{_where(output)}")
    printed = [PrintedForm(s.code.serial, template.id, template.version, layout.layout_id,
                           s.code.client, s.code.session, s.date, paper) for s in specs]
    try:
        with _open_store(db_path, create=True) as store:
            store.record_printed(printed)
    except (SrsformError, OSError) as exc:
        _say(f"note: the printed-forms register was skipped ({exc}); the forms are fine, but "
             "scans of them cannot be linked to this print run")
    else:
        log.info("recorded %d printed page(s) in %s", len(printed), store.path)


@main.command("scan", epilog=_epilog(
    [ExitCode.OK, ExitCode.CONFIG, ExitCode.REVIEW, ExitCode.FAILED, ExitCode.INTERRUPTED],
    "srsform scan scans/ -o results.csv --db clinic.db",
    "cat page.png | srsform scan - -o -"))
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", metavar="FILE", default="-", show_default=True,
              help="Where to write the records of these pages ('-' for standard output).")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="Output format (default: from the output's extension, else jsonl).")
@click.option("-t", "--template", "template_names", multiple=True,
              shell_complete=_complete_template,
              help="Extra template (name or .toml path) to recognise; with exactly one, pages "
                   "whose QR code cannot be read are read as that form, for review.")
@_db_option(" Created if missing.")
@click.option("--rescan", is_flag=True,
              help="Read pages again even if stored (corrections by a person are kept).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=DEFAULT_JOBS,
              show_default="half the number of cores",
              help="Worker processes (each also decodes ahead on a second thread).")
@click.option("--evidence/--no-evidence", default=True, show_default=True,
              help="Keep an annotated image of each page and a crop of each line beside "
                   "the store (DB.evidence/), for audit and review.")
@click.option("--boundary-margin", "boundary_margin", metavar="MM",
              type=click.FloatRange(0.0, MAX_BOUNDARY_MARGIN_MM),
              show_default="the template's boundary_margin_mm, "
                           f"{DEFAULT_BOUNDARY_MARGIN_MM:g} unless it says",
              help="How far past a score boundary a reading's error bar may reach for the "
                   "rounding rule's score to stand (noted near_boundary); further goes to a "
                   "person. 0 sends every boundary doubt to a person.")
@click.pass_context
def scan_command(ctx: click.Context, inputs: tuple[str, ...], output: str, fmt: str | None,
                 template_names: tuple[str, ...], db_path: Path | None, rescan: bool,
                 jobs: int, evidence: bool, boundary_margin: float | None) -> None:
    """Read scanned forms (PDF, TIFF, JPEG, PNG files or folders; '-' reads one file from
    standard input): one record per page, kept in the store; pages already stored are not
    read again."""
    from . import batch
    from .read.ingest import STDIN, STDIN_SOURCE, expand_inputs, spooled_stdin

    fmt = guess_format(output, fmt)
    check_writable(output)
    config = _scan_config(template_names, evidence, boundary_margin)
    with ExitStack() as cleanup:
        given, names = list(inputs), {}
        if STDIN in given:
            _check_stdin(given)
            spooled = cleanup.enter_context(spooled_stdin())
            given[given.index(STDIN)] = spooled
            names[spooled] = STDIN_SOURCE
        paths = expand_inputs(given)
        if not paths:
            raise ConfigError("no input files found in " + ", ".join(inputs))
        store = cleanup.enter_context(_open_store(db_path, create=True))
        plans = batch.plan(paths, store, rescan=rescan, names=names)
        todo = sum(len(p.todo) for p in plans)
        started, done = time.monotonic(), [0]

        def rate(_: object) -> str:
            elapsed = max(time.monotonic() - started, 1e-6)
            return f"{done[0] / elapsed:.1f} pages/s" if done[0] else ""

        with click.progressbar(length=todo, label="scanning", file=sys.stderr,
                               show_pos=True, show_eta=True, item_show_func=rate,
                               hidden=_quiet(ctx) or not sys.stderr.isatty()) as bar:
            def advance(result: PageResult) -> None:
                _log_page(result)
                done[0] += 1
                bar.update(1, result)

            batch.run(plans, store, config, jobs=jobs, on_page=advance)
        # The values in force: a person's corrections, where made, over the readings.
        pages = list(review.records_in_force(store, [(p.source_id, p.source) for p in plans]))
        counts: dict[str, int] = {}
        for result, _ in pages:
            counts[result.status] = counts.get(result.status, 0) + 1
        with atomic_output(output) as out:
            write_records(out, fmt, pages)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    total = sum(counts.values())
    _say(f"{total} page(s) ({todo} read now, {total - todo} already stored) in the store "
         f"{store.path}: {summary}")
    ctx.exit(int(ExitCode.for_statuses(counts)))


def _check_stdin(inputs: list[str]) -> None:
    """'-' (standard input) can be read once, and only from a pipe or a file."""
    if inputs.count("-") > 1:
        raise ConfigError("'-' (standard input) can be given once")
    if sys.stdin is None or sys.stdin.isatty():
        raise ConfigError("'-' reads a scan from standard input, which is a terminal here: "
                          "pipe or redirect a file in (cat page.png | srsform scan -)")


@main.command("watch", epilog=_epilog(
    [(ExitCode.OK, "stopped by Ctrl-C, or done (--once)"),
     (ExitCode.CONFIG, "bad template or store: nothing was read")],
    "srsform watch /srv/scans --db clinic.db",
    "srsform watch inbox --once"))
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
@_db_option(" Created if missing.")
@click.option("-t", "--template", "template_names", multiple=True,
              shell_complete=_complete_template,
              help="Extra template (name or .toml path) to recognise.")
@click.option("--interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="Seconds between looks at the folder.")
@click.option("--settle", type=click.FloatRange(min=0.0), default=2.0, show_default=True,
              help="Seconds a file must stay unchanged before it is read.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=DEFAULT_JOBS,
              show_default="half the number of cores",
              help="Worker processes (each also decodes ahead on a second thread).")
@click.option("--once", is_flag=True, help="Read what has settled, then stop.")
def watch_command(folder: Path, db_path: Path | None, template_names: tuple[str, ...],
                  interval: float, settle: float, jobs: int, once: bool) -> None:
    """Hot folder: read each scan file dropped into FOLDER once, then move it to
    FOLDER/done (or FOLDER/failed when a page could not be read). Ctrl-C stops it."""
    from .watch import Watcher

    config = _scan_config(template_names, evidence=True)

    def report(path: Path, results: list[PageResult], target: str) -> None:
        statuses = ", ".join(sorted({r.status for r in results}))
        _say(f"{path.name}: {len(results)} page(s) ({statuses}) -> {target}/")

    with _open_store(db_path, create=True) as store:
        watcher = Watcher(folder, store, config, settle_s=settle, jobs=jobs, on_file=report,
                          on_page=_log_page)
        try:
            if once:
                _say(f"reading what has settled in {folder} into the store {store.path}")
                deadline = time.monotonic() + settle + 2 * interval
                while time.monotonic() < deadline:
                    watcher.poll()
                    time.sleep(interval)
                watcher.poll()
            else:
                _say(f"watching {folder}, storing in {store.path} (Ctrl-C to stop)")
                watcher.run(interval)
        except KeyboardInterrupt:
            _say("stopped")


def _scan_config(template_names: tuple[str, ...], evidence: bool,
                 boundary_margin: float | None = None) -> ScanConfig:
    """The bundled templates plus those given; exactly one given is the fallback for pages
    whose QR code cannot be read; a boundary margin given overrides the templates'."""
    from .read.pipeline import ScanConfig

    given = [load_template(name) for name in template_names]
    templates = tuple({t.id + t.version: t for t in [*load_bundled(), *given]}.values())
    return ScanConfig(templates=templates, fallback=given[0] if len(given) == 1 else None,
                      evidence=evidence, boundary_margin_mm=boundary_margin)


def _log_page(result: PageResult) -> None:
    # Never client codes in the log: they identify a person.
    log.info("%s page %d: %s%s", result.source, result.page, result.status,
             f" ({'; '.join(result.reasons)})" if result.reasons else "")


class IsoDate(click.ParamType):
    """A day written YYYY-MM-DD (kept as that text, which sorts as dates do)."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> str:
        text = str(value).strip()
        try:
            if len(text) != 10:
                raise ValueError
            day = dt.date.fromisoformat(text)
        except ValueError:
            self.fail(f"'{value}' is not a date: write it as YYYY-MM-DD (e.g. 2026-12-01)",
                      param, ctx)
        return day.isoformat()


_FILTER_OPTIONS = (
    click.option("--client", "clients", multiple=True,
                 help="Only this client code (repeat for several)."),
    click.option("--template", "templates", multiple=True,
                 help="Only this template, e.g. srs (repeat for several); `export --template "
                      "srs` writes one template per file."),
    click.option("--since", type=IsoDate(),
                 help="Only pages of sessions on or after this day (the session date from the "
                      "printed-forms register, else the day the page was scanned)."),
    click.option("--until", type=IsoDate(), help="Only pages of sessions on or before this day."),
    click.option("--status", "statuses", multiple=True, type=click.Choice(PAGE_STATUSES),
                 help="Only pages with this status, after corrections (repeat for several)."),
)


def page_filter_options(command: Callable) -> Callable:
    """The options that select stored pages: --client, --template, --since, --until, --status."""
    for option in reversed(_FILTER_OPTIONS):
        command = option(command)
    return command


def page_filter(clients: tuple[str, ...] = (), templates: tuple[str, ...] = (),
                since: str | None = None, until: str | None = None,
                statuses: tuple[str, ...] = ()) -> PageFilter:
    """The PageFilter the filter options ask for (a usage error when it can match nothing)."""
    if since and until and since > until:
        raise click.BadParameter(f"--since {since} is after --until {until}")
    return PageFilter(tuple(clients), tuple(templates), since, until, tuple(statuses))


# --- review, export and audit of the store -------------------------------------------------

def _default_who() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment
        return ""


def _review_store(ctx: click.Context, db_path: Path | None) -> Store:
    """The store of a review command: --db given to the subcommand, else to `review`, else
    the one found by default."""
    return _open_store(db_path or ctx.find_object(dict).get("db"))


_NO_STORE = (ExitCode.CONFIG, "no store where it was looked for (see `srsform info`)")
_WHO_OPTION = click.option("--who", default=_default_who, show_default="your login name",
                           help="Who decides (kept in the corrections trail).")


@main.group("review", cls=_Group, invoke_without_command=True, epilog=_epilog(
    [(ExitCode.OK, "the walk ended (everything decided, or q)"), _NO_STORE],
    "srsform review --db clinic.db",
    "srsform review list --db clinic.db"))
@_db_option()
@click.option("--why", help="Reason kept with every decision of this session "
                            "(asked once if not given).")
@_WHO_OPTION
@click.pass_context
def review_command(ctx: click.Context, db_path: Path | None, why: str | None, who: str
                   ) -> None:
    """Walk through the items that need a person, lowest confidence first: [a]ccept the
    reading, type a score 0-10, [m]issing, [s]kip or [q]uit. Every decision is appended to
    the corrections trail with who, when and why."""
    ctx.obj = {"db": db_path}
    if ctx.invoked_subcommand is not None:
        return
    with _review_store(ctx, None) as store:
        queue = review.review_queue(store)
        items = [entry for entry in queue if entry.key is not None]
        pages_only = [entry for entry in queue if entry.key is None]
        decided = skipped = 0
        for number, entry in enumerate(items, start=1):
            if not review.still_pending(store, entry):
                continue  # settled by a decision on its page earlier in this walk
            _show_review_item(entry, number, len(items))
            answer = click.prompt("[a]ccept, score 0-10, [m]issing, [s]kip, [q]uit",
                                  value_proc=_walk_answer(entry))
            if answer == "quit":
                break
            if answer == "skip":
                skipped += 1
                continue
            if why is None:
                why = click.prompt("Why (kept with each decision of this session)")
            correction = review.decide(store, entry.page, entry.key, answer, who, why)
            decided += 1
            click.echo(f"  #{correction.id}: {entry.key} "
                       f"{review.format_score(correction.old_score, correction.old_status)} -> "
                       f"{review.format_score(correction.new_score, correction.new_status)}")
        left = sum(1 for entry in items if review.still_pending(store, entry))
    _say(f"{decided} decided, {skipped} skipped, {left} item(s) still to review in the store "
         f"{store.path}" if items else f"nothing to review in the store {store.path}")
    if pages_only:
        _say(f"{len(pages_only)} page(s) with no items read (see `srsform review list`): scan "
             "them again or key them by hand")
def _show_review_item(entry: review.ReviewItem, number: int, count: int) -> None:
    mm = "-" if entry.mm is None else f"{entry.mm:.1f} mm"
    serial = f"serial {entry.page.serial}, " if entry.page.serial else ""
    click.echo(f"\n[{number}/{count}] {entry.page.ref} ({serial}page {entry.page.status})")
    click.echo(f"  {entry.key}: {mm}, score {review.format_score(entry.score)}, "
               f"{entry.status}, confidence {entry.confidence:.2f}")
    for reason in entry.reasons:
        click.echo(f"  - {reason}")
    for evidence in dict.fromkeys(p for p in (entry.crop_path, entry.page.evidence_path) if p):
        click.echo(f"  evidence: {evidence}")


def _walk_answer(entry: review.ReviewItem) -> Callable[[str], str | review.Decision]:
    """click value_proc: 'skip', 'quit' or a Decision; a bad answer is asked again."""
    def parse(text: str) -> str | review.Decision:
        word = text.strip().lower()
        if word in ("s", "skip", "q", "quit"):
            return {"s": "skip", "q": "quit"}.get(word, word)
        try:
            decision = review.parse_decision(text, entry.page.rule)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
        if decision.kind == "accept" and entry.score is None and entry.status != "missing":
            raise click.BadParameter(f"no score to accept ({entry.status}): type the score "
                                     "or m")
        return decision
    return parse


@review_command.command("list", epilog=_epilog(
    [(ExitCode.OK, "the list was written"), _NO_STORE],
    "srsform review list --db clinic.db",
    "srsform review list --db clinic.db | cut -f2,4,7"))
@_db_option()
@click.pass_context
def review_list_command(ctx: click.Context, db_path: Path | None) -> None:
    """List what needs a person, lowest confidence first (tab-separated, on stdout)."""
    with _review_store(ctx, db_path) as store:
        queue = review.review_queue(store)
    click.echo("confidence\tpage\tserial\titem\tmm\tscore\tstatus\tevidence\treasons")
    for entry in queue:
        mm = "" if entry.mm is None else f"{entry.mm:.1f}"
        click.echo("\t".join([f"{entry.confidence:.2f}", entry.page.ref,
                              entry.page.serial or "", entry.key or "(no items read)", mm,
                              "" if entry.score is None else f"{entry.score}", entry.status,
                              entry.crop_path or entry.page.evidence_path or "",
                              " | ".join(entry.reasons)]))
    _say(f"{len(queue)} waiting for a person in the store {store.path}")


_DECIDED = (ExitCode.OK, "the decision was appended to the corrections trail")
_REFUSED = (ExitCode.CONFIG, "no store, no such page or item, or a value that is not allowed: "
                             "nothing was changed")


@review_command.command("set", epilog=_epilog(
    [_DECIDED, _REFUSED],
    'srsform review set SAMP00000011 overall 7 --why "checked the paper" --db clinic.db',
    'srsform review set scans/stack.pdf:3 goals_topics missing --why "no mark"'))
@click.argument("page_ref", metavar="SERIAL_OR_PATH:PAGE")
@click.argument("item")
@click.argument("value", metavar="VALUE")
@click.option("--why", required=True, help="Why (kept with the decision).")
@_WHO_OPTION
@_db_option()
@click.pass_context
def review_set_command(ctx: click.Context, page_ref: str, item: str, value: str, why: str,
                       who: str, db_path: Path | None) -> None:
    """Decide one item: VALUE is a score 0-10, 'missing', or 'accept' (the reading stands)."""
    with _review_store(ctx, db_path) as store:
        page = review.find_page(store, page_ref)
        try:
            decision = review.parse_decision(value, page.rule)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        correction = review.decide(store, page, item, decision, who, why)
    _say(f"correction #{correction.id}: {page.describe()} {item} "
         f"{review.format_score(correction.old_score, correction.old_status)} -> "
         f"{review.format_score(correction.new_score, correction.new_status)} (store "
         f"{store.path})")


@review_command.command("undo", epilog=_epilog(
    [_DECIDED, _REFUSED], 'srsform review undo 12 --why "wrong form" --db clinic.db'))
@click.argument("correction_id", type=int)
@click.option("--why", required=True, help="Why the decision is undone.")
@_WHO_OPTION
@_db_option()
@click.pass_context
def review_undo_command(ctx: click.Context, correction_id: int, why: str, who: str,
                        db_path: Path | None) -> None:
    """Undo correction CORRECTION_ID by a new entry restoring the value before it."""
    with _review_store(ctx, db_path) as store:
        correction = review.undo(store, correction_id, who, why)
    _say(f"correction #{correction.id} undoes #{correction_id}: {correction.item_key} back to "
         f"{review.format_score(correction.new_score, correction.new_status)} (store "
         f"{store.path})")


@review_command.command("trail", epilog=_epilog(
    [(ExitCode.OK, "the trail was written"),
     (ExitCode.CONFIG, "no store, or no such page")],
    "srsform review trail --db clinic.db", "srsform review trail SAMP00000011 --db clinic.db"))
@click.argument("page_ref", metavar="[SERIAL_OR_PATH:PAGE]", required=False)
@_db_option()
@click.pass_context
def review_trail_command(ctx: click.Context, page_ref: str | None, db_path: Path | None
                         ) -> None:
    """The corrections trail (all, or one page's), oldest first, tab-separated."""
    with _review_store(ctx, db_path) as store:
        page_id = review.find_page(store, page_ref).page_id if page_ref else None
        names = store.page_refs()
        entries = store.corrections(page_id)
    click.echo("id\tpage\titem\told\tnew\twho\tat\twhy")
    for c in entries:
        click.echo("\t".join([str(c.id), names.get(c.page_id, str(c.page_id)), c.item_key,
                              review.format_score(c.old_score, c.old_status),
                              review.format_score(c.new_score, c.new_status), c.who, c.at,
                              c.why]))
    _say(f"{len(entries)} decision(s) in the store {store.path}")


@main.command("export", epilog=_epilog(
    [(ExitCode.OK, "the pages asked for were exported (or none matched: said on stderr)"),
     (ExitCode.CONFIG, "no store, or the output cannot be written: nothing was written"),
     ExitCode.INTERRUPTED],
    "srsform export --db clinic.db -o results.csv",
    "srsform export --db clinic.db --template srs --since 2026-09-01 -o srs.csv"))
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="jsonl, json, csv (one row per page, columns per template) or long (one row "
                   "per item) (default: from the output's extension, else jsonl).")
@click.option("-o", "--output", metavar="FILE", default="-", show_default=True,
              help="File to write ('-' for standard output).")
@_db_option()
@page_filter_options
def export_command(fmt: str | None, output: str, db_path: Path | None, **criteria: Any
                   ) -> None:
    """Stored pages with the values in force (a person's corrections applied, totals and
    flags recomputed; each item says whether it was corrected): every page, or those the
    filters select."""
    fmt = guess_format(output, fmt)
    where = page_filter(**criteria)
    check_writable(output)
    with _open_store(db_path) as store, atomic_output(output) as out:
        count = write_records(out, fmt, review.records_in_force(store, where=where))
    _say(f"exported {count} page(s) from the store {store.path} to {_where(output)}")
    if not count and where:
        _say(f"no stored page matches {where.describe()}")


@main.command("audit", epilog=_epilog(
    [(ExitCode.OK, "the report was written; with --against, every keyed value agrees"),
     (ExitCode.CONFIG, "no store, an unusable keyed file, or the output cannot be written"),
     (ExitCode.REVIEW, "with --against: some keyed values disagree with the stored ones"),
     ExitCode.INTERRUPTED],
    "srsform audit --db clinic.db -o audit.pdf --only-flagged",
    "srsform audit --against keyed.csv --db clinic.db"))
@click.option("--against", "keyed", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV of scores keyed by hand from the paper forms (by serial, or client + "
                   "session; item columns by item key, and/or total).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report on stdout.")
@_db_option()
@click.option("-o", "--output", "pdf_path",
              type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              help="Write the PDF audit report here ('-' for standard output): per form, the "
                   "annotated original and each line at true scale with a ruler and the mark "
                   "read.")
@click.option("--only-flagged", is_flag=True, help="PDF: only pages or items not ok.")
@click.option("--client", metavar="CODE", help="PDF: only this client code.")
@click.option("--since", metavar="YYYY-MM-DD",
              help="PDF: only pages scanned on or after this date.")
@click.pass_context
def audit_command(ctx: click.Context, keyed: Path | None, as_json: bool, db_path: Path | None,
                  pdf_path: Path | None, only_flagged: bool, client: str | None,
                  since: str | None) -> None:
    """Audit the stored scores against the originals: a PDF report to check each score
    against the paper (-o), and/or every discrepancy with a keyed CSV and agreement
    statistics (--against; exit 0 when all agree, 4 when some do not)."""
    if keyed is None and pdf_path is None:
        raise ConfigError("give -o audit.pdf for the report, and/or --against keyed.csv")
    if keyed is not None and pdf_path is not None and str(pdf_path) == STDOUT:
        raise OutputError("-o - and --against both write to standard output: write the PDF "
                          "to a file, or run them one at a time")
    if pdf_path is not None:
        from .report.audit_pdf import select_pages, write_audit_pdf  # reportlab: only here

        check_writable(pdf_path, binary=True)
        with _open_store(db_path) as store, atomic_output(pdf_path, binary=True) as out:
            pages = select_pages(store, only_flagged=only_flagged, client=client, since=since)
            forms = write_audit_pdf(store, pages, out, title_note=(
                f"store {store.path}; {'only flagged; ' if only_flagged else ''}"
                f"{'client ' + client + '; ' if client else ''}"
                f"{'since ' + since if since else ''}"))
        _say(f"audit report of {forms} form(s) from the store {store.path} written to "
             f"{_where(pdf_path)}")
        if keyed is None:
            return
    from .report.keyed_audit import audit_keyed, format_audit

    with _open_store(db_path) as store:
        report = audit_keyed(store, keyed)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
    else:
        click.echo(format_audit(report))
    _say(f"compared with the store {store.path}")
    ctx.exit(int(ExitCode.REVIEW if report.discrepancies else ExitCode.OK))
