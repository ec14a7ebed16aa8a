"""The `srsform` command: parse options, call the library, map errors to exit codes."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import logging
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.shell_completion import CompletionItem

from .errors import ConfigError, DecidedMeanwhile, ExitCode, OutputError, SrsformError
from .form.layout import PAPERS_MM, build_layout
from .form.pagecode import PageCode, new_serial
from .form.roster import read_roster
from .form.templates import (
    DEFAULT_BOUNDARY_MARGIN_MM,
    MAX_BOUNDARY_MARGIN_MM,
    bundled_names,
    example_names,
    load_bundled,
    load_template,
)
from .inputs import STDIN
from .outputs import STDOUT, atomic_output, check_writable
from .places import ENV_VAR, STORE_NAME, find_store, make_store_folder, network_share
from .records import PAGE_STATUSES, PageFilter, PageResult, PrintedForm
from .report import review
from .report.export import FORMATS, guess_format, write_records
from .report.fhir import BUNDLE_TYPES, DEFAULT_BASE, FHIR_FORMATS, FhirSettings
from .report.redcap import DEFAULT_EVENT_PATTERN, REDCAP_MODES, check_event_pattern
from .report.register_check import RegisterCheck, check_register, format_register
from .store import Store, store_files

if TYPE_CHECKING:
    from .read.pipeline import ScanConfig
    from .report.keyed_audit import AuditReport

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
# Characters that would start a new line, move the cursor or recolour a terminal, or turn the
# text around: a file name holding them must not forge a line of srsform's messages.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` as one line a terminal shows as it is: control characters written as escapes
    (a newline in a file name as `\\n`)."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class _OneLineFormatter(logging.Formatter):
    """Log lines with file names and reasons made printable (a traceback, at -vv, follows)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return printable(super().formatMessage(record))


# --- -q/-v on every command, one error handler, help that ends in exit codes ----------------

def _note_verbosity(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """Option callback: add this -q/-v to those already given, then set the log level."""
    if param.name == "quiet":
        ctx.meta[_QUIET] = bool(ctx.meta.get(_QUIET) or value)
    else:
        ctx.meta[_VERBOSE] = ctx.meta.get(_VERBOSE, 0) + (value or 0)
    verbose = ctx.meta.get(_VERBOSE, 0)
    level = logging.ERROR if ctx.meta.get(_QUIET) else _LOG_LEVELS[min(verbose, 2)]
    root = logging.getLogger()
    if not root.handlers:  # as logging.basicConfig, with lines made printable
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_OneLineFormatter("srsform: %(levelname)s: %(message)s"))
        root.addHandler(handler)
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
        except click.Abort as exc:
            # click.prompt turns Ctrl-C into Abort ("Aborted!", exit 1): it is Ctrl-C here too.
            if isinstance(exc.__context__, KeyboardInterrupt):
                click.echo()  # end the prompt's line
                _interrupted(ctx)
            raise
        except (click.exceptions.Exit, click.ClickException):
            raise
        except KeyboardInterrupt:
            _interrupted(ctx)
        except BrokenPipeError:
            # The reader of our output went away (e.g. `| head`): stop quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(int(ExitCode.OK))
        except Exception as exc:  # noqa: BLE001 - the one place unexpected errors are shown
            _fail(ctx, f"internal error: {exc!r} (run with -v for details; please report it)",
                  ExitCode.INTERNAL)


def _interrupted(ctx: click.Context) -> None:
    click.echo("srsform: interrupted", err=True)
    ctx.exit(int(ExitCode.INTERRUPTED))


def _fail(ctx: click.Context, message: str, code: int) -> None:
    if ctx.meta.get(_VERBOSE):
        log.exception("details")
    click.echo(f"srsform: error: {printable(message)}", err=True)
    ctx.exit(int(code))


def _say(message: str) -> None:
    """A progress or summary line on stderr (stdout is for data), unless -q was given."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or not ctx.meta.get(_QUIET):
        click.echo(f"srsform: {printable(message)}", err=True)


def _quiet(ctx: click.Context) -> bool:
    return bool(ctx.meta.get(_QUIET))


@contextmanager
def _quiet_c_libraries(ctx: click.Context) -> Iterator[None]:
    """Below -vv, silence what the C image libraries (libpng, libjpeg, libtiff, OpenCV) write
    straight to file descriptor 2, past -q and the log (the page's record says what went
    wrong): that descriptor goes to the null device, srsform's own stderr stays where it was.
    Worker processes started inside the block inherit the silence."""
    if ctx.meta.get(_VERBOSE, 0) >= 2:
        yield
        return
    previous = sys.stderr
    try:
        previous.flush()
        on_fd2 = previous.fileno() == 2
    except (AttributeError, OSError, ValueError):
        on_fd2 = False  # already elsewhere (a test runner's buffer): only fd 2 is redirected
    saved = os.dup(2)
    if on_fd2:
        sys.stderr = open(os.dup(saved), "w", encoding=previous.encoding,
                          errors="backslashreplace", buffering=1)
        _log_to(previous, sys.stderr)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        if on_fd2:
            _log_to(sys.stderr, previous)
            sys.stderr.close()
            sys.stderr = previous


def _log_to(old: Any, new: Any) -> None:
    """Point the log's stream handlers writing to `old` at `new`."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is old:
            handler.setStream(new)


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
        with Store(place.path, write=False) as store:
            counts = store.counts()
            rows += [("files", str(counts["sources"])), ("pages", str(counts["pages"])),
                     ("corrections", str(counts["corrections"])),
                     ("evidence", str(store.evidence_dir))]
    for name, value in rows:
        click.echo(f"{name}\t{value}")


@main.command("templates", epilog=_epilog([(ExitCode.OK, "the templates were listed")],
                                          "srsform templates"))
def templates_command() -> None:
    """List the bundled templates (id, version, title), then the example translations (name,
    version, title): print one with --template NAME; its forms are read as the id it keeps."""
    for template in load_bundled():
        click.echo(f"{template.id}\t{template.version}\t{template.title}")
    for name in example_names():
        example = load_template(name)
        click.echo(f"{name}\t{example.version}\t{example.title} (example: read as "
                   f"'{example.id}')")


def _complete_template(ctx: click.Context, param: click.Parameter, incomplete: str
                       ) -> list[CompletionItem]:
    """Shell completion for --template: a bundled name, else a template file's path."""
    names = [name for name in [*bundled_names(), *example_names()]
             if name.startswith(incomplete)]
    return [CompletionItem(name) for name in names] or [CompletionItem(incomplete, type="file")]


_TEMPLATE_HELP = ("Bundled or example template name (see `srsform templates`) or path to a "
                  "template .toml.")
_DB_HELP = (f"The record store (SQLite). Default: ${ENV_VAR}, else {STORE_NAME} in the "
            "current folder if there is one, else your per-user store (see `srsform info`).")


def _db_option(extra: str = "") -> Callable:
    return click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
                        default=None, help=_DB_HELP + extra)


def _open_store(db_path: Path | None, *, create: bool = False, check: bool = True,
                write: bool = True) -> Store:
    """The store find_store picks, opened (and checked whole, unless not `check`: see Store);
    read-only unless `write` (see Store). Only `scan` and `watch` create one (and say so on
    stderr, once); other commands need one that exists."""
    place = find_store(db_path)
    share = network_share(place.path)
    if share:
        log.warning("the store %s is on a network share (%s): srsform guarantees concurrent "
                    "use from one machine only; do not use it from several machines at once, "
                    "or keep it on a local disk", place.path, share)
    if place.path.exists():
        return Store(place.path, check=check, write=write)
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


def _check_output(output: str | Path, db_path: Path | None, binary: bool = False) -> None:
    """check_writable, and never the store the command uses (or one of its files)."""
    check_writable(output, binary=binary, store_files=store_files(find_store(db_path).path))


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

    _check_output(output, db_path, binary=True)
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


# scan and watch: the template's review setting, overridden for one run.
_BOUNDARY_MARGIN_OPTION = click.option(
    "--boundary-margin", "boundary_margin", metavar="MM",
    type=click.FloatRange(0.0, MAX_BOUNDARY_MARGIN_MM),
    show_default=f"the template's boundary_margin_mm, {DEFAULT_BOUNDARY_MARGIN_MM:g} unless it "
                 "says",
    help="How far past a score boundary a reading's error bar may reach for the rounding "
         "rule's score to stand (noted near_boundary); further goes to a person. 0 sends "
         "every boundary doubt to a person.")


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
@_BOUNDARY_MARGIN_OPTION
@click.pass_context
def scan_command(ctx: click.Context, inputs: tuple[str, ...], output: str, fmt: str | None,
                 template_names: tuple[str, ...], db_path: Path | None, rescan: bool,
                 jobs: int, evidence: bool, boundary_margin: float | None) -> None:
    """Read scanned forms (PDF, TIFF, JPEG, PNG files or folders; '-' reads one file from
    standard input): one record per page, kept in the store; pages already stored are not
    read again."""
    from . import batch
    from .read.ingest import STDIN_SOURCE, expand_inputs, spooled_stdin

    fmt = guess_format(output, fmt)
    own = store_files(find_store(db_path).path)
    _check_output(output, db_path)
    config = _scan_config(template_names, evidence, boundary_margin)
    with ExitStack() as cleanup:
        cleanup.enter_context(_quiet_c_libraries(ctx))
        given, names = list(inputs), {}
        if STDIN in given:
            _check_stdin(given)
            spooled = cleanup.enter_context(spooled_stdin())
            given[given.index(STDIN)] = spooled
            names[spooled] = STDIN_SOURCE
        # The store is never an input, nor is this run's output (both may lie in a folder
        # being scanned).
        paths = expand_inputs(given, skip=[*own, *([output] if output != STDOUT else [])])
        if not paths:
            raise ConfigError("no input files found in " + ", ".join(inputs))
        store = cleanup.enter_context(_open_store(db_path, create=True))
        if evidence:
            store.check_evidence_folder()
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
        waiting: dict[str, int] = {}  # the exit code's: a page a person settled waits no more
        for result, corrected in pages:
            counts[result.status] = counts.get(result.status, 0) + 1
            if not review.settled_by_person(result, corrected):
                waiting[result.status] = waiting.get(result.status, 0) + 1
        with atomic_output(output) as out:
            write_records(out, fmt, pages)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    total = sum(counts.values())
    _say(f"{total} page(s) ({todo} read now, {total - todo} already stored) in the store "
         f"{store.path}: {summary}")
    ctx.exit(int(ExitCode.for_statuses(waiting)))


def _check_stdin(inputs: list[str]) -> None:
    """'-' (standard input) can be read once, and only from a pipe or a file."""
    if inputs.count(STDIN) > 1:
        raise ConfigError("'-' (standard input) can be given once")
    _stdin_piped("a scan", "cat page.png | srsform scan -")


def _stdin_piped(what: str, example: str) -> None:
    """Refuse to read `what` from standard input when it is a terminal (it would wait)."""
    if sys.stdin is None or sys.stdin.isatty():
        raise ConfigError(f"'-' reads {what} from standard input, which is a terminal here: "
                          f"pipe or redirect a file in ({example})")


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
@_BOUNDARY_MARGIN_OPTION
@click.pass_context
def watch_command(ctx: click.Context, folder: Path, db_path: Path | None,
                  template_names: tuple[str, ...], interval: float, settle: float, jobs: int,
                  once: bool, boundary_margin: float | None) -> None:
    """Hot folder: read each scan file dropped into FOLDER once, then move it to
    FOLDER/done (or FOLDER/failed when a page could not be read). Ctrl-C stops it. One
    watcher at a time watches a folder."""
    from .watch import Watcher, folder_lock

    config = _scan_config(template_names, evidence=True, boundary_margin=boundary_margin)

    def report(path: Path, results: list[PageResult], target: str) -> None:
        statuses = ", ".join(sorted({r.status for r in results}))
        _say(f"{path.name}: {len(results)} page(s) ({statuses}) -> {target}/")

    with folder_lock(folder), _quiet_c_libraries(ctx), \
            _open_store(db_path, create=True) as store:
        store.check_evidence_folder()
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


def _review_store(ctx: click.Context, db_path: Path | None, write: bool = True) -> Store:
    """The store of a review command: --db given to the subcommand, else to `review`, else
    the one found by default (read-only unless `write`)."""
    return _open_store(db_path or ctx.find_object(dict).get("db"), write=write)


_NO_STORE = (ExitCode.CONFIG, "no store where it was looked for (see `srsform info`)")
_WHO_OPTION = click.option("--who", default=_default_who, show_default="your login name",
                           help="Who decides (kept in the corrections trail).")


@main.group("review", cls=_Group, invoke_without_command=True, epilog=_epilog(
    [(ExitCode.OK, "the walk ended (everything decided, or q), or the web page was stopped"),
     _NO_STORE, (ExitCode.INTERRUPTED, "Ctrl-C in the walk (the decisions made are kept)")],
    "srsform review --db clinic.db",
    "srsform review --web --db clinic.db"))
@_db_option()
@click.option("--why", help="Reason kept with every decision of this session "
                            "(asked once if not given).")
@_WHO_OPTION
@click.option("--web", is_flag=True,
              help="Review in the browser instead (the same as `srsform review web`).")
@click.pass_context
def review_command(ctx: click.Context, db_path: Path | None, why: str | None, who: str,
                   web: bool) -> None:
    """Walk through what needs a person, a page's items together: [a]ccept the reading,
    type a score 0-10 (or where the mark is in mm: 44.5mm), [m]issing (no mark), [n]ot a
    form (the whole page), [s]kip or [q]uit.
    Every decision is appended to the corrections trail with who, when and why."""
    ctx.obj = {"db": db_path}
    if ctx.invoked_subcommand is not None:
        return
    if web:
        ctx.invoke(review_web_command, db_path=db_path, who=who)
        return
    with _review_store(ctx, None) as store:
        queue = review.review_queue(store)
        decided = skipped = shown = 0
        count = len(queue)
        for entry in queue:
            if not review.still_pending(store, entry):
                count -= 1  # settled by a decision on its page earlier in this walk
                continue
            shown += 1
            _show_review_item(entry, shown, count)
            prompt = ("[a]ccept the page as read, [n]ot a form, [s]kip, [q]uit"
                      if entry.key is None else
                      "[a]ccept, score 0-10 (or mm: 44.5mm), [m]issing, [n]ot a form, "
                      "[s]kip, [q]uit")
            answer = click.prompt(prompt, value_proc=_walk_answer(entry))
            if answer == "quit":
                break
            if answer == "skip":
                skipped += 1
                continue
            key = review.PAGE_KEY if answer.kind == "not_a_form" else entry.trail_key
            if why is None:
                why = click.prompt("Why (kept with each decision of this session)")
            try:
                correction = review.decide(store, entry.page, key, answer, who, why,
                                           seen=entry.latest if key == entry.trail_key else None)
            except DecidedMeanwhile as exc:
                click.echo(f"  {exc}")
                continue
            decided += 1
            click.echo(f"  #{correction.id}: {correction.item_key} "
                       f"{review.format_score(correction.old_score, correction.old_status)} -> "
                       f"{review.format_score(correction.new_score, correction.new_status)}")
        left = len(review.review_queue(store))
    _say(f"{decided} decided, {skipped} skipped, {left} decision(s) still waiting in the "
         f"store {store.path}" if queue else f"nothing to review in the store {store.path}")


def _show_review_item(entry: review.ReviewItem, number: int, count: int) -> None:
    serial = f"serial {entry.page.serial}, " if entry.page.serial else ""
    click.echo(f"\n[{number}/{count}] {entry.page.ref} ({serial}page {entry.page.status})")
    if entry.key is None:
        click.echo("  the page itself")
    else:
        mm = "-" if entry.mm is None else f"{entry.mm:.1f} mm"
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
            if entry.key is None or word in ("n", "not_a_form", "not-a-form"):
                return review.parse_page_decision(text)
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
    """List what needs a decision, most useful first: a page's items together, pages that
    the fewest decisions settle first (tab-separated, on stdout; item `(page)` is a decision
    about the page itself)."""
    with _review_store(ctx, db_path, write=False) as store:
        queue = review.review_queue(store)
    click.echo("confidence\tpage\tserial\titem\tmm\tscore\tstatus\tevidence\treasons")
    for entry in queue:
        mm = "" if entry.mm is None else f"{entry.mm:.1f}"
        confidence = "" if entry.key is None else f"{entry.confidence:.2f}"
        click.echo("\t".join([confidence, entry.page.ref, entry.page.serial or "",
                              entry.trail_key, mm,
                              "" if entry.score is None else f"{entry.score}", entry.status,
                              entry.crop_path or entry.page.evidence_path or "",
                              " | ".join(entry.reasons)]))
    pages = len({entry.page.page_id for entry in queue})
    _say(f"{len(queue)} decision(s) on {pages} page(s) waiting for a person in the store "
         f"{store.path}")


_DECIDED = (ExitCode.OK, "the decision was appended to the corrections trail")
_REFUSED = (ExitCode.CONFIG, "no store, no such page or item, or a value that is not allowed: "
                             "nothing was changed")


@review_command.command("set", epilog=_epilog(
    [_DECIDED, _REFUSED],
    'srsform review set SAMP00000011 overall 7 --why "checked the paper" --db clinic.db',
    'srsform review set scans/stack.pdf:3 relationship 44.5mm --why "ruler on the paper"'))
@click.argument("page_ref", metavar="SERIAL_OR_PATH:PAGE")
@click.argument("item")
@click.argument("value", metavar="VALUE")
@click.option("--why", required=True, help="Why (kept with the decision).")
@_WHO_OPTION
@_db_option()
@click.pass_context
def review_set_command(ctx: click.Context, page_ref: str, item: str, value: str, why: str,
                       who: str, db_path: Path | None) -> None:
    """Decide one item: VALUE is a score 0-10, where the mark is in mm from the line's left
    end (44.5mm: 0-100, one decimal, scored by the form's rounding rule and kept with the
    reason), 'missing', or 'accept' (the reading stands)."""
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


@review_command.command("page", epilog=_epilog(
    [_DECIDED, _REFUSED],
    'srsform review page scans/stack.pdf:4 not_a_form --why "a letter, not a form"',
    'srsform review page SAMP00000012 accept --why "two sheets: the second is a re-scan? no"'))
@click.argument("page_ref", metavar="SERIAL_OR_PATH:PAGE")
@click.argument("verdict", metavar="not_a_form|accept")
@click.option("--why", required=True, help="Why (kept with the decision).")
@_WHO_OPTION
@_db_option()
@click.pass_context
def review_page_command(ctx: click.Context, page_ref: str, verdict: str, why: str, who: str,
                        db_path: Path | None) -> None:
    """Decide about a whole page: 'not_a_form' (it is left out of scores; its status is then
    not_a_form) or 'accept' (it is the form it was read as: for a page whose own identity was
    in doubt, such as a serial read twice or a QR code that could not be read)."""
    try:
        decision = review.parse_page_decision(verdict)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="VERDICT") from None
    with _review_store(ctx, db_path) as store:
        page = review.find_page(store, page_ref)
        correction = review.decide(store, page, review.PAGE_KEY, decision, who, why)
    _say(f"correction #{correction.id}: {page.describe()} "
         f"{review.format_score(correction.old_score, correction.old_status)} -> "
         f"{review.format_score(correction.new_score, correction.new_status)} (store "
         f"{store.path})")


@review_command.command("web", epilog=_epilog(
    [(ExitCode.OK, "the page was stopped (Ctrl-C)"),
     (ExitCode.CONFIG, "no store where it was looked for, or the port is taken")],
    "srsform review web --db clinic.db",
    "srsform review web --port 8700 --no-browser"))
@_db_option()
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default="any free port",
              help="Port on 127.0.0.1 to serve the review page on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but the loopback makes the store's "
                   "clinical records reachable from other machines: keep the default.")
@click.option("--browser/--no-browser", default=False, show_default=True,
              help="Open the page in the default web browser.")
@_WHO_OPTION
@click.pass_context
def review_web_command(ctx: click.Context, db_path: Path | None, port: int, host: str,
                       browser: bool, who: str) -> None:
    """Review in the browser: a local page showing each item's line at true scale with the
    reading drawn on it, the whole page, the reasons and the suggested value; one or two
    keys decide. It prints its address, with a secret token, on stderr; Ctrl-C stops it."""
    from .report.review_web import serve  # the web server loads only here

    with _review_store(ctx, db_path) as store:
        store_path = store.path
    serve(store_path, host=host, port=port, who=who, open_browser=browser,
          announce=lambda url: click.echo(f"srsform: review page for the store {store_path}: "
                                          f"{url}\nsrsform: open it in a browser on this "
                                          "machine; Ctrl-C stops it", err=True))


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
    with _review_store(ctx, db_path, write=False) as store:
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


INTERCHANGE_FORMATS = (*FHIR_FORMATS, "redcap")
# Which --format each interchange option is for.
_OPTION_FORMATS = {"--fhir-base": FHIR_FORMATS, "--patient-system": FHIR_FORMATS,
                   "--bundle-type": ("fhir",), "--data-dictionary": ("redcap",),
                   "--redcap-mode": ("redcap",), "--redcap-event": ("redcap",)}
_HTTP_URL = re.compile(r"^https?://[^\s|?#]+$")
_ABSOLUTE_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s|]+$")


@main.command("export", epilog=_epilog(
    [(ExitCode.OK, "the pages asked for were exported (or none matched: said on stderr)"),
     (ExitCode.CONFIG, "no store, or the output cannot be written: nothing was written"),
     ExitCode.INTERRUPTED],
    "srsform export --db clinic.db --template srs --since 2026-09-01 -o srs.csv",
    "srsform export --db clinic.db --format fhir -o bundle.json"))
@click.option("--format", "fmt", type=click.Choice((*FORMATS, *INTERCHANGE_FORMATS)),
              help="jsonl, json, csv (one row per page, columns per template) or long (one row "
                   "per item) (default: from the output's extension, else jsonl); fhir (a FHIR "
                   "R4 Bundle), ndjson (FHIR resources, one per line) or redcap (a REDCap import "
                   "CSV).")
@click.option("-o", "--output", metavar="FILE", default="-", show_default=True,
              help="File to write ('-' for standard output).")
@_db_option()
@page_filter_options
@click.option("--fhir-base", metavar="URL",
              help="fhir, ndjson: the canonical URL base of the Questionnaires, srsform's "
                   f"extensions and identifier systems (default {DEFAULT_BASE}: give your "
                   "organisation's).")
@click.option("--patient-system", metavar="URI",
              help="fhir, ndjson: the identifier system of the client codes that name each "
                   "Patient (default <fhir-base>/client-code).")
@click.option("--bundle-type", type=click.Choice(BUNDLE_TYPES),
              help="fhir: transaction (default: a server stores it as one) or collection (a "
                   "set of resources to read).")
@click.option("--data-dictionary", "dictionary", metavar="FILE",
              help="redcap: also write the REDCap data dictionary (CSV) to this file.")
@click.option("--redcap-mode", type=click.Choice(REDCAP_MODES),
              help="redcap: repeating (default: a repeating instrument per template, instance "
                   "= session number) or longitudinal (an event per session, --redcap-event).")
@click.option("--redcap-event", metavar="PATTERN",
              help="redcap --redcap-mode longitudinal: the unique event name of session {n} "
                   f"(default {DEFAULT_EVENT_PATTERN}).")
def export_command(fmt: str | None, output: str, db_path: Path | None, fhir_base: str | None,
                   patient_system: str | None, bundle_type: str | None,
                   dictionary: str | None, redcap_mode: str | None, redcap_event: str | None,
                   **criteria: Any) -> None:
    """Stored pages with the values in force (a person's corrections applied, totals and
    flags recomputed; each item says whether it was corrected): every page, or those the
    filters select. Also as FHIR R4 resources or a REDCap import (see the README)."""
    fmt = guess_format(output, fmt)
    where = page_filter(**criteria)
    given = {"--fhir-base": fhir_base, "--patient-system": patient_system,
             "--bundle-type": bundle_type, "--data-dictionary": dictionary,
             "--redcap-mode": redcap_mode, "--redcap-event": redcap_event}
    for name, value in given.items():
        if value is not None and fmt not in _OPTION_FORMATS[name]:
            raise click.UsageError(f"{name} is for --format {' or '.join(_OPTION_FORMATS[name])}")
    if fmt in FHIR_FORMATS:
        _export_fhir(fmt, output, db_path, where, _fhir_settings(fhir_base, patient_system,
                                                                 bundle_type))
        return
    if fmt == "redcap":
        if redcap_event is not None and redcap_mode != "longitudinal":
            raise click.UsageError("--redcap-event is for --redcap-mode longitudinal")
        try:
            pattern = check_event_pattern(redcap_event or DEFAULT_EVENT_PATTERN)
        except ConfigError as exc:
            raise click.BadParameter(str(exc), param_hint="--redcap-event") from None
        _export_redcap(output, dictionary, db_path, where, redcap_mode or "repeating", pattern)
        return
    _check_output(output, db_path)
    with _open_store(db_path, write=False) as store, atomic_output(output) as out:
        count = write_records(out, fmt, review.records_in_force(store, where=where))
    _say(f"exported {count} page(s) from the store {store.path} to {_where(output)}")
    if not count and where:
        _say(f"no stored page matches {where.describe()}")


def _fhir_settings(base: str | None, patient_system: str | None, bundle_type: str | None
                   ) -> FhirSettings:
    import srsform  # its version, looked up only when asked for

    base = (base or DEFAULT_BASE).rstrip("/")
    if not _HTTP_URL.match(base):
        raise click.BadParameter(f"'{base}' is not an http(s) URL", param_hint="--fhir-base")
    if patient_system is not None and not _ABSOLUTE_URI.match(patient_system):
        raise click.BadParameter(f"'{patient_system}' is not an absolute URI (e.g. "
                                 "https://clinic.example.org/client-codes)",
                                 param_hint="--patient-system")
    return FhirSettings(base, patient_system, bundle_type or "transaction",
                        srsform.__version__)


def _export_fhir(fmt: str, output: str, db_path: Path | None, where: PageFilter,
                 settings: FhirSettings) -> None:
    from .report.fhir import write_fhir
    from .report.interchange import gather

    _check_output(output, db_path)
    with _open_store(db_path, write=False) as store:
        forms, skipped = gather(store, where)
    with atomic_output(output) as out:
        counts = write_fhir(out, fmt, forms, settings)
    what = (f"a {settings.bundle_type} Bundle" if fmt == "fhir" else "NDJSON")
    made = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    _say(f"exported {len(forms)} form(s) as {what} ({made or 'no resources'}) from the store "
         f"{store.path} to {_where(output)}")
    _say_left_out(skipped, len(forms), where)


def _export_redcap(output: str, dictionary: str | None, db_path: Path | None,
                   where: PageFilter, mode: str, pattern: str) -> None:
    from .report.interchange import every_instrument, gather
    from .report.redcap import write_dictionary, write_import

    if dictionary is not None and (dictionary == output or (
            output != STDOUT and Path(dictionary).resolve() == Path(output).resolve())):
        raise OutputError("-o and --data-dictionary name the same file: give two")
    _check_output(output, db_path)
    if dictionary is not None:
        _check_output(dictionary, db_path)
    with _open_store(db_path, write=False) as store:
        forms, skipped = gather(store, where)
    instruments = every_instrument(forms)
    with ExitStack() as files:
        out = files.enter_context(atomic_output(output))
        if dictionary is not None:
            fields = write_dictionary(files.enter_context(atomic_output(dictionary)),
                                      instruments)
        rows, left_out = write_import(out, forms, instruments, mode, pattern)
    _say(f"exported {len(forms) - left_out.total()} form(s) in {rows} REDCap row(s) ({mode}) "
         f"from the store {store.path} to {_where(output)}")
    if dictionary is not None:
        _say(f"wrote the REDCap data dictionary ({fields} fields, {len(instruments) + 1} "
             f"instruments) to {_where(dictionary)}")
    _say_left_out(skipped + left_out, len(forms), where)


def _say_left_out(skipped: Counter[str], written: int, where: PageFilter) -> None:
    """Say how many selected pages were left out and why (or that none matched)."""
    if skipped:
        reasons = "; ".join(f"{n} {reason}" for reason, n in skipped.items())
        _say(f"left out {skipped.total()} page(s): {reasons}")
    elif not written and where:
        _say(f"no stored page matches {where.describe()}")


@main.command("audit", epilog=_epilog(
    [(ExitCode.OK, "the audit was made; with --against, every keyed row compared agrees"),
     (ExitCode.CONFIG, "no store, an unusable keyed file, or an output it cannot write"),
     (ExitCode.REVIEW, "with --against: a keyed value differs, or a keyed row was not "
                       "compared"),
     ExitCode.INTERRUPTED],
    "srsform audit --db clinic.db -o audit.pdf --only-flagged",
    "srsform audit --against keyed.csv --db clinic.db --report disc.csv"))
@click.option("--against", "keyed", type=click.Path(dir_okay=False, allow_dash=True,
                                                     path_type=Path),
              help="CSV of scores keyed by hand from the paper forms ('-' reads it from "
                   "standard input): rows named by serial, or template + client + session; "
                   "item columns by item key, and/or total (an empty cell is not keyed; "
                   "blank, missing or - means no mark).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report on stdout.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="With --against: write every discrepancy (and every keyed row not "
                   "compared) to this CSV.")
@_db_option()
@click.option("-o", "--output", "pdf_path",
              type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              help="Write the PDF audit report here ('-' for standard output): per form, the "
                   "values in force (with who corrected what), each line at true scale with a "
                   "ruler and the mark read, and the original page.")
@click.option("--only-flagged", is_flag=True,
              help="PDF: only pages or items not ok with the values in force, or with a "
                   "keyed discrepancy.")
@page_filter_options
@click.pass_context
def audit_command(ctx: click.Context, keyed: Path | None, as_json: bool,
                  report_path: Path | None, db_path: Path | None, pdf_path: Path | None,
                  only_flagged: bool, **criteria: Any) -> None:
    """Audit the store against the paper: printed forms that never came back and scanned
    pages this store never printed (always); a PDF report to check each score against the
    original (-o); every discrepancy with a keyed CSV and agreement statistics (--against).
    The filters select the forms reported and compared."""
    where = page_filter(**criteria)
    if report_path is not None and keyed is None:
        raise ConfigError("--report writes the discrepancies found with --against "
                          "keyed.csv: give both")
    pdf_to_stdout = pdf_path is not None and str(pdf_path) == STDOUT
    if keyed is not None and pdf_to_stdout:
        raise OutputError("-o - and --against both write to standard output: write the PDF "
                          "to a file, or run them one at a time")
    if pdf_path is not None:
        _check_output(pdf_path, db_path, binary=True)
    if report_path is not None:
        _check_output(report_path, db_path)
    if keyed is not None and str(keyed) == STDIN:
        _stdin_piped("the keyed file", "srsform audit --against - < keyed.csv")
    report = None
    with _open_store(db_path, write=False) as store:
        register = check_register(store, where)
        if keyed is not None:
            from .report.keyed_audit import audit_keyed

            report = audit_keyed(store, keyed, where)
        if pdf_path is not None:
            _write_audit_pdf(store, pdf_path, where, report, register, only_flagged)
    if report_path is not None and report is not None:
        from .report.keyed_audit import write_report_csv

        with atomic_output(report_path) as out:
            rows = write_report_csv(report, out)
        _say(f"{rows} discrepancy and not-compared row(s) written to {report_path}")
    if not pdf_to_stdout:  # standard output holds the PDF
        _echo_audit(report, register, as_json)
    if report is not None:
        _say(f"compared with the store {store.path}")
    ctx.exit(int(ExitCode.OK if report is None or report.all_agree else ExitCode.REVIEW))


def _echo_audit(report: AuditReport | None, register: RegisterCheck, as_json: bool) -> None:
    """The audit on stdout: the keyed audit (if any), then the printed-forms check."""
    if as_json:
        data = report.to_dict() if report is not None else {}
        click.echo(json.dumps(data | register.to_dict(), ensure_ascii=False, indent=1))
        return
    if report is not None:
        from .report.keyed_audit import format_audit

        click.echo(format_audit(report) + "\n")
    click.echo("\n".join(format_register(register)))


def _write_audit_pdf(store: Store, pdf_path: Path, where: PageFilter,
                     report: AuditReport | None, register: RegisterCheck,
                     only_flagged: bool) -> None:
    from .report.audit_pdf import select_forms, write_audit_pdf  # reportlab: only here

    forms = select_forms(store, where, only_flagged=only_flagged, keyed=report)
    if not forms and where:
        _say(f"no stored page matches {where.describe()}")
    note = "; ".join(part for part in (
        f"store {store.path}", where.describe(), "only flagged" if only_flagged else "",
        f"against {report.keyed_file}" if report else "") if part)
    with atomic_output(pdf_path, binary=True) as out:
        count = write_audit_pdf(store, forms, out, title_note=note, keyed=report,
                                register=register)
    _say(f"audit report of {count} form(s) from the store {store.path} written to "
         f"{_where(pdf_path)}")


# --- the clinician report and the front desk's alerts ----------------------------------------

REPORT_FORMATS = ("pdf", "html", "json")
ALERT_FORMATS = ("text", "csv", "json", "jsonl")
_RULES_OPTION = click.option(
    "-t", "--template", "template_names", multiple=True,
    help="A clinic's template file (.toml) whose role, flags and alert rules apply to the "
         "forms of its id instead of the bundled template's (repeat for several).")


def _format_from(output: str, fmt: str | None, formats: tuple[str, ...], default: str) -> str:
    """The format asked for, else the one the output's extension names, else `default`."""
    if fmt:
        return fmt
    suffix = Path(output).suffix.lower().lstrip(".")
    suffix = {"htm": "html", "txt": "text", "ndjson": "jsonl"}.get(suffix, suffix)
    return suffix if output != "-" and suffix in formats else default


def _report_templates(names: tuple[str, ...]) -> dict:
    from .report.clinician import report_templates

    return report_templates(load_template(name) for name in names)


@main.command("report", epilog=_epilog(
    [(ExitCode.OK, "the report was written (or no client matched: said on stderr)"),
     (ExitCode.CONFIG, "no store, a bad template, or the output cannot be written"),
     ExitCode.INTERRUPTED],
    "srsform report -o report.pdf",
    "srsform report --client C2002 --format html -o c2002.html"))
@click.option("-o", "--output", metavar="FILE", default="report.pdf", show_default=True,
              help="File to write ('-' for standard output).")
@click.option("--format", "fmt", type=click.Choice(REPORT_FORMATS),
              help="pdf (a page per client), html (one self-contained file) or json (the same "
                   "content for programs) (default: from the output's extension, else pdf).")
@click.option("--client", "clients", multiple=True,
              help="Only this client code (repeat for several).")
@click.option("--since", type=IsoDate(),
              help="Only clients with a session on or after this day (their whole history is "
                   "shown: the charts need the intake).")
@click.option("--until", type=IsoDate(), help="Only clients with a session on or before this day.")
@_RULES_OPTION
@_db_option()
def report_command(output: str, fmt: str | None, clients: tuple[str, ...], since: str | None,
                   until: str | None, template_names: tuple[str, ...], db_path: Path | None
                   ) -> None:
    """The clinician report: for each client (or those chosen), the ORS and SRS totals over
    sessions with the cut-off, the intake and the reliable-change band, small multiples of
    the items, a session-by-session table (unreviewed values marked provisional) and the
    client's alerts. ORS and SRS of one session are shown together; a session's date is
    the printed-forms register's, else the day its form was scanned."""
    from .report.clinician import build_reports, select_clients, to_dict

    fmt = _format_from(output, fmt, REPORT_FORMATS, "pdf")
    where = page_filter(clients=clients, since=since, until=until)
    _check_output(output, db_path)
    templates = _report_templates(template_names)
    # A client's report reads only their pages: a whole-store check would cost more than the
    # report on a large store (about 1 s per 140 MB); damage it meets is still exit 3.
    with _open_store(db_path, check=False, write=False) as store:
        note = f"store {store.path}" + (f"; {where.describe()}" if where else "")
        reports = build_reports(store, select_clients(store, where), templates)
    if fmt == "pdf":
        from .report.clinician_pdf import write_report_pdf  # reportlab: only here

        with atomic_output(output, binary=True) as out:
            pages = write_report_pdf(reports, out, note)
        done = f"{pages} page(s)"
    elif fmt == "html":
        from .report.clinician_html import write_report_html  # no heavy library

        with atomic_output(output) as out:
            write_report_html(reports, out, note)
        done = "one HTML file"
    else:
        with atomic_output(output) as out:
            json.dump(to_dict(reports, note), out, ensure_ascii=False, indent=1)
            out.write("\n")
        done = "JSON"
    _say(f"report of {len(reports)} client(s) written to {_where(output)} ({done})")
    if not reports:  # the selection is not repeated: it may name a client
        _say(f"no client forms in {store.path}" + (" match the selection" if where else ""))


@main.command("alerts", epilog=_epilog(
    [(ExitCode.OK, "the alerts were listed (there may be none)"),
     (ExitCode.CONFIG, "no store, no recorded scan run without --since/--all, a bad template, "
                       "or the output cannot be written"),
     ExitCode.INTERRUPTED],
    "srsform alerts",
    "srsform alerts --since 2026-11-01 -o alerts.csv"))
@click.option("-o", "--output", metavar="FILE", default="-", show_default=True,
              help="File to write ('-' for standard output), e.g. alerts.csv.")
@click.option("--format", "fmt", type=click.Choice(ALERT_FORMATS),
              help="text (one line each), csv, json or jsonl (default: from the output's "
                   "extension, else text).")
@click.option("--since", type=IsoDate(),
              help="Alerts of sessions on or after this day instead of the last scan.")
@click.option("--until", type=IsoDate(), help="Alerts of sessions on or before this day.")
@click.option("--all", "every", is_flag=True, help="Alerts of every session.")
@click.option("--client", "clients", multiple=True,
              help="Only this client code (repeat for several).")
@_RULES_OPTION
@_db_option()
def alerts_command(output: str, fmt: str | None, since: str | None, until: str | None,
                   every: bool, clients: tuple[str, ...], template_names: tuple[str, ...],
                   db_path: Path | None) -> None:
    """The alerts of the last scan (the forms the latest `srsform scan` stored), or of the
    sessions --since/--until/--all choose: one line each, for the front desk right after
    scanning. Each alert names its rule and gives a short reason."""
    from .report.clinician import AlertSelection, dated_alerts, last_scan_alerts

    fmt = _format_from(output, fmt, ALERT_FORMATS, "text")
    where = page_filter(clients=clients, since=since, until=until)
    _check_output(output, db_path)
    templates = _report_templates(template_names)
    with _open_store(db_path, check=False, write=False) as store:  # as report: pages it reads
        if since or until or every:
            selection = dated_alerts(store, where, templates)
        else:
            found = last_scan_alerts(store, templates)
            if found is None:
                raise ConfigError(f"{store.path} has no recorded scan run: give --since DAY "
                                  "or --all")
            selection = AlertSelection([a for a in found.alerts
                                        if not clients or a.client in clients],
                                       found.described)
    with atomic_output(output) as out:
        _write_alerts(out, fmt, selection.alerts)
    people = len({alert.client for alert in selection.alerts})
    _say(f"{len(selection.alerts)} alert(s) for {people} client(s) in "
                 f"{selection.described}")


def _write_alerts(out: Any, fmt: str, alerts: list) -> None:
    import csv

    from .report.clinician import alert_line
    from .report.export import csv_cell

    if fmt == "text":
        out.writelines(alert_line(alert) + "\n" for alert in alerts)
    elif fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(["client", "session", "date", "template", "alert", "reason",
                         "provisional", "rule"])
        writer.writerows([csv_cell(v) for v in alert.to_dict().values()] for alert in alerts)
    elif fmt == "json":
        json.dump([alert.to_dict() for alert in alerts], out, ensure_ascii=False, indent=1)
        out.write("\n")
    else:
        out.writelines(json.dumps(alert.to_dict(), ensure_ascii=False) + "\n"
                       for alert in alerts)
