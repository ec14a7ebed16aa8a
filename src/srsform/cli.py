"""The `srsform` command: parse options, call the library, map errors to exit codes."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .errors import ConfigError, ExitCode, SrsformError
from .form.layout import PAPERS_MM, build_layout
from .form.pagecode import PageCode, new_serial
from .form.roster import read_roster
from .form.templates import load_bundled, load_template
from .outputs import atomic_output, check_writable
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


class _Command(click.Group):
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
    if ctx.find_root().params.get("verbose"):
        log.exception("details")
    click.echo(f"srsform: error: {message}", err=True)
    ctx.exit(int(code))


@click.group(cls=_Command)
@click.version_option(package_name="srsform", prog_name="srsform")
@click.option("-v", "--verbose", count=True, help="More detail on stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
def main(verbose: int, quiet: bool) -> None:
    """Print and read paper Session Rating Scale / Outcome Rating Scale forms."""
    # Records, exports and the store's journal files are clinical data: owner only.
    os.umask(0o077)
    levels = (logging.WARNING, logging.INFO, logging.DEBUG)
    level = logging.ERROR if quiet else levels[min(verbose, 2)]
    logging.basicConfig(level=level, format="srsform: %(levelname)s: %(message)s",
                        stream=sys.stderr)


@main.command("templates")
def templates_command() -> None:
    """List the bundled templates (id, version, title)."""
    for template in load_bundled():
        click.echo(f"{template.id}\t{template.version}\t{template.title}")


@main.command("print")
@click.option("-t", "--template", "template_name", default="srs", show_default=True,
              help="Bundled template name or path to a template .toml file.")
@click.option("--paper", type=click.Choice(sorted(PAPERS_MM)), default="a4", show_default=True)
@click.option("--copies", type=click.IntRange(min=1, max=10000), default=1, show_default=True,
              help="Blank copies (ignored with --roster).")
@click.option("--roster", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV with columns client, session, date: one personalised page per row.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("forms.pdf"), show_default=True, help="PDF file to write.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("srsform.db"), show_default=True,
              help="The record store whose printed-forms register records these pages.")
def print_command(template_name: str, paper: str, copies: int, roster: Path | None,
                  output: Path, db_path: Path) -> None:
    """Print blank or personalised forms to a PDF, and record each page in the store's
    printed-forms register (so that scans are linked to it and forms that never came back
    are found)."""
    from .form.render import PageSpec, render_pdf  # reportlab: loaded only to print

    check_writable(output)
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
    click.echo(f"srsform: wrote {count} page(s) of '{template.id}' ({paper}, layout "
               f"{layout.layout_id}) to {output}", err=True)
    printed = [PrintedForm(s.code.serial, template.id, template.version, layout.layout_id,
                           s.code.client, s.code.session, s.date, paper) for s in specs]
    try:
        with Store(db_path) as store:
            store.record_printed(printed)
    except SrsformError as exc:
        click.echo(f"srsform: note: the printed-forms register was skipped ({exc}); the "
                   "forms are fine, but scans of them cannot be linked to this print run",
                   err=True)
    else:
        log.info("recorded %d printed page(s) in %s", len(printed), db_path)


@main.command("scan")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", default="-", show_default=True,
              help="Where to write the records of these pages ('-' for stdout).")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="Output format (default: from the output's extension, else jsonl).")
@click.option("-t", "--template", "template_names", multiple=True,
              help="Extra template (name or .toml path) to recognise; with exactly one, pages "
                   "whose QR code cannot be read are read as that form, for review.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("srsform.db"), show_default=True,
              help="The record store (SQLite), created if missing.")
@click.option("--rescan", is_flag=True,
              help="Read pages again even if stored (corrections by a person are kept).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=DEFAULT_JOBS,
              show_default="half the number of cores",
              help="Worker processes (each also decodes ahead on a second thread).")
@click.option("--evidence/--no-evidence", default=True, show_default=True,
              help="Keep an annotated image of each page and a crop of each line beside "
                   "the store (DB.evidence/), for audit and review.")
@click.pass_context
def scan_command(ctx: click.Context, inputs: tuple[str, ...], output: str, fmt: str | None,
                 template_names: tuple[str, ...], db_path: Path, rescan: bool,
                 jobs: int, evidence: bool) -> None:
    """Read scanned forms (PDF, TIFF, JPEG, PNG files or folders): one record per page,
    kept in the store; pages already stored are not read again."""
    from . import batch
    from .read.ingest import expand_inputs

    fmt = guess_format(output, fmt)
    check_writable(output)
    config = _scan_config(template_names, evidence)
    paths = expand_inputs(inputs)
    if not paths:
        raise ConfigError("no input files found in " + ", ".join(inputs))
    quiet = ctx.find_root().params.get("quiet")
    with Store(db_path) as store:
        plans = batch.plan(paths, store, rescan=rescan)
        todo = sum(len(p.todo) for p in plans)
        started, done = time.monotonic(), [0]

        def rate(_: object) -> str:
            elapsed = max(time.monotonic() - started, 1e-6)
            return f"{done[0] / elapsed:.1f} pages/s" if done[0] else ""

        with click.progressbar(length=todo, label="scanning", file=sys.stderr,
                               show_pos=True, show_eta=True, item_show_func=rate,
                               hidden=quiet or not sys.stderr.isatty()) as bar:
            def advance(result: PageResult) -> None:
                _log_page(result)
                done[0] += 1
                bar.update(1, result)

            batch.run(plans, store, config, jobs=jobs, on_page=advance)
        # The values in force: a person's corrections, where made, over the readings.
        pages = list(review.records_in_force(store, [(p.source_id, p.path) for p in plans]))
        counts: dict[str, int] = {}
        for result, _ in pages:
            counts[result.status] = counts.get(result.status, 0) + 1
        with atomic_output(output) as out:
            write_records(out, fmt, pages)
    if not quiet:
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        click.echo(f"srsform: {sum(counts.values())} page(s) ({todo} read now, the rest "
                   f"already stored in {db_path}): {summary}", err=True)
    ctx.exit(int(ExitCode.for_statuses(counts)))


@main.command("watch")
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("srsform.db"), show_default=True, help="The record store.")
@click.option("-t", "--template", "template_names", multiple=True,
              help="Extra template (name or .toml path) to recognise.")
@click.option("--interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="Seconds between looks at the folder.")
@click.option("--settle", type=click.FloatRange(min=0.0), default=2.0, show_default=True,
              help="Seconds a file must stay unchanged before it is read.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=DEFAULT_JOBS,
              show_default="half the number of cores",
              help="Worker processes (each also decodes ahead on a second thread).")
@click.option("--once", is_flag=True, help="Read what has settled, then stop.")
def watch_command(folder: Path, db_path: Path, template_names: tuple[str, ...],
                  interval: float, settle: float, jobs: int, once: bool) -> None:
    """Hot folder: read each scan file dropped into FOLDER once, then move it to
    FOLDER/done (or FOLDER/failed when a page could not be read). Ctrl-C stops it."""
    from .watch import Watcher

    config = _scan_config(template_names, evidence=True)

    def report(path: Path, results: list[PageResult], target: str) -> None:
        statuses = ", ".join(sorted({r.status for r in results}))
        click.echo(f"srsform: {path.name}: {len(results)} page(s) ({statuses}) -> {target}/",
                   err=True)

    with Store(db_path) as store:
        watcher = Watcher(folder, store, config, settle_s=settle, jobs=jobs, on_file=report)
        click.echo(f"srsform: watching {folder} (Ctrl-C to stop)", err=True)
        try:
            if once:
                deadline = time.monotonic() + settle + 2 * interval
                while time.monotonic() < deadline:
                    watcher.poll()
                    time.sleep(interval)
                watcher.poll()
            else:
                watcher.run(interval)
        except KeyboardInterrupt:
            click.echo("srsform: stopped", err=True)


def _scan_config(template_names: tuple[str, ...], evidence: bool) -> ScanConfig:
    """The bundled templates plus those given; exactly one given is the fallback for pages
    whose QR code cannot be read."""
    from .read.pipeline import ScanConfig

    given = [load_template(name) for name in template_names]
    templates = tuple({t.id + t.version: t for t in [*load_bundled(), *given]}.values())
    return ScanConfig(templates=templates, fallback=given[0] if len(given) == 1 else None,
                      evidence=evidence)


def _log_page(result: PageResult) -> None:
    # Never client codes in the log at default verbosity: they identify a person.
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

def _existing_store(db_path: Path) -> Store:
    """Open a store that must already exist (reviewing an empty new store helps no one)."""
    if not db_path.exists():
        raise ConfigError(f"no store at {db_path}: scan forms into it first (srsform scan "
                          f"... --db {db_path}) or give --db")
    return Store(db_path)


def _default_who() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment
        return ""


def _review_db(ctx: click.Context, db_path: Path | None) -> Path:
    """--db given to the subcommand, else to `review`, else the default store."""
    return db_path or ctx.find_object(dict).get("db") or Path("srsform.db")


_DB_OPTION = click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
                          default=None, help="The record store [default: srsform.db].")
_WHO_OPTION = click.option("--who", default=_default_who, show_default="your login name",
                           help="Who decides (kept in the corrections trail).")


@main.group("review", invoke_without_command=True)
@_DB_OPTION
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
    with _existing_store(_review_db(ctx, None)) as store:
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
    click.echo(f"srsform: {decided} decided, {skipped} skipped, {left} item(s) still to "
               "review" if items else "srsform: nothing to review", err=True)
    if pages_only:
        click.echo(f"srsform: {len(pages_only)} page(s) with no items read (see `srsform "
                   "review list`): scan them again or key them by hand", err=True)


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


@review_command.command("list")
@_DB_OPTION
@click.pass_context
def review_list_command(ctx: click.Context, db_path: Path | None) -> None:
    """List what needs a person, lowest confidence first (tab-separated, on stdout)."""
    with _existing_store(_review_db(ctx, db_path)) as store:
        queue = review.review_queue(store)
    click.echo("confidence\tpage\tserial\titem\tmm\tscore\tstatus\tevidence\treasons")
    for entry in queue:
        mm = "" if entry.mm is None else f"{entry.mm:.1f}"
        click.echo("\t".join([f"{entry.confidence:.2f}", entry.page.ref,
                              entry.page.serial or "", entry.key or "(no items read)", mm,
                              "" if entry.score is None else f"{entry.score}", entry.status,
                              entry.crop_path or entry.page.evidence_path or "",
                              " | ".join(entry.reasons)]))


@review_command.command("set")
@click.argument("page_ref", metavar="SERIAL_OR_PATH:PAGE")
@click.argument("item")
@click.argument("value", metavar="VALUE")
@click.option("--why", required=True, help="Why (kept with the decision).")
@_WHO_OPTION
@_DB_OPTION
@click.pass_context
def review_set_command(ctx: click.Context, page_ref: str, item: str, value: str, why: str,
                       who: str, db_path: Path | None) -> None:
    """Decide one item: VALUE is a score 0-10, 'missing', or 'accept' (the reading stands)."""
    with _existing_store(_review_db(ctx, db_path)) as store:
        page = review.find_page(store, page_ref)
        try:
            decision = review.parse_decision(value, page.rule)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        correction = review.decide(store, page, item, decision, who, why)
    click.echo(f"srsform: correction #{correction.id}: {page.describe()} {item} "
               f"{review.format_score(correction.old_score, correction.old_status)} -> "
               f"{review.format_score(correction.new_score, correction.new_status)}", err=True)


@review_command.command("undo")
@click.argument("correction_id", type=int)
@click.option("--why", required=True, help="Why the decision is undone.")
@_WHO_OPTION
@_DB_OPTION
@click.pass_context
def review_undo_command(ctx: click.Context, correction_id: int, why: str, who: str,
                        db_path: Path | None) -> None:
    """Undo correction CORRECTION_ID by a new entry restoring the value before it."""
    with _existing_store(_review_db(ctx, db_path)) as store:
        correction = review.undo(store, correction_id, who, why)
    click.echo(f"srsform: correction #{correction.id} undoes #{correction_id}: "
               f"{correction.item_key} back to "
               f"{review.format_score(correction.new_score, correction.new_status)}", err=True)


@review_command.command("trail")
@click.argument("page_ref", metavar="[SERIAL_OR_PATH:PAGE]", required=False)
@_DB_OPTION
@click.pass_context
def review_trail_command(ctx: click.Context, page_ref: str | None, db_path: Path | None
                         ) -> None:
    """The corrections trail (all, or one page's), oldest first, tab-separated."""
    with _existing_store(_review_db(ctx, db_path)) as store:
        page_id = review.find_page(store, page_ref).page_id if page_ref else None
        names = store.page_refs()
        entries = store.corrections(page_id)
    click.echo("id\tpage\titem\told\tnew\twho\tat\twhy")
    for c in entries:
        click.echo("\t".join([str(c.id), names.get(c.page_id, str(c.page_id)), c.item_key,
                              review.format_score(c.old_score, c.old_status),
                              review.format_score(c.new_score, c.new_status), c.who, c.at,
                              c.why]))


@main.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="jsonl, json, csv (one row per page, columns per template) or long (one row "
                   "per item) (default: from the output's extension, else jsonl).")
@click.option("-o", "--output", default="-", show_default=True,
              help="File to write ('-' for stdout).")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("srsform.db"), show_default=True, help="The record store.")
@page_filter_options
def export_command(fmt: str | None, output: str, db_path: Path, **criteria: Any) -> None:
    """Stored pages with the values in force (a person's corrections applied, totals and
    flags recomputed; each item says whether it was corrected): every page, or those the
    filters select."""
    fmt = guess_format(output, fmt)
    where = page_filter(**criteria)
    check_writable(output)
    with _existing_store(db_path) as store, atomic_output(output) as out:
        count = write_records(out, fmt, review.records_in_force(store, where=where))
    click.echo(f"srsform: exported {count} page(s) from {db_path}", err=True)
    if not count and where:
        click.echo(f"srsform: no stored page matches {where.describe()}", err=True)


@main.command("audit")
@click.option("--against", "keyed", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV of scores keyed by hand from the paper forms (by serial, or client + "
                   "session; item columns by item key, and/or total).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report on stdout.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("srsform.db"), show_default=True, help="The record store.")
@click.option("-o", "--output", "pdf_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the PDF audit report here: per form, the annotated original and "
                   "each line at true scale with a ruler and the mark read.")
@click.option("--only-flagged", is_flag=True, help="PDF: only pages or items not ok.")
@click.option("--client", help="PDF: only this client code.")
@click.option("--since", help="PDF: only pages scanned on or after this date (YYYY-MM-DD).")
@click.pass_context
def audit_command(ctx: click.Context, keyed: Path | None, as_json: bool, db_path: Path,
                  pdf_path: Path | None, only_flagged: bool, client: str | None,
                  since: str | None) -> None:
    """Audit the stored scores against the originals: a PDF report to check each score
    against the paper (-o), and/or every discrepancy with a keyed CSV and agreement
    statistics (--against; exit 0 when all agree, 4 when some do not)."""
    if keyed is None and pdf_path is None:
        raise ConfigError("give -o audit.pdf for the report, and/or --against keyed.csv")
    if pdf_path is not None:
        from .report.audit_pdf import select_pages, write_audit_pdf  # reportlab: only here

        check_writable(pdf_path)
        with _existing_store(db_path) as store, atomic_output(pdf_path, binary=True) as out:
            pages = select_pages(store, only_flagged=only_flagged, client=client, since=since)
            forms = write_audit_pdf(store, pages, out, title_note=(
                f"store {db_path}; {'only flagged; ' if only_flagged else ''}"
                f"{'client ' + client + '; ' if client else ''}"
                f"{'since ' + since if since else ''}"))
        click.echo(f"srsform: audit report of {forms} form(s) written to {pdf_path}", err=True)
        if keyed is None:
            return
    from .report.keyed_audit import audit_keyed, format_audit

    with _existing_store(db_path) as store:
        report = audit_keyed(store, keyed)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
    else:
        click.echo(format_audit(report))
    ctx.exit(int(ExitCode.REVIEW if report.discrepancies else ExitCode.OK))


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


def _report_note(message: str) -> None:
    """A summary line on stderr (stdout is for data), unless -q was given."""
    ctx = click.get_current_context()
    if not (ctx.meta.get("srsform.quiet") or ctx.find_root().params.get("quiet")):
        click.echo(f"srsform: {message}", err=True)


def _report_templates(names: tuple[str, ...]) -> dict:
    from .report.clinician import report_templates

    return report_templates(load_template(name) for name in names)


@main.command("report")
@click.option("-o", "--output", default="report.pdf", show_default=True,
              help="File to write ('-' for stdout).")
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
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("srsform.db"), show_default=True, help="The record store.")
def report_command(output: str, fmt: str | None, clients: tuple[str, ...], since: str | None,
                   until: str | None, template_names: tuple[str, ...], db_path: Path) -> None:
    """The clinician report: for each client (or those chosen), the ORS and SRS totals over
    sessions with the cut-off, the intake and the reliable-change band, small multiples of
    the items, a session-by-session table (unreviewed values marked provisional) and the
    client's alerts. ORS and SRS of one session are shown together; a session's date is
    the printed-forms register's, else the day its form was scanned."""
    from .report.clinician import build_reports, select_clients, to_dict

    fmt = _format_from(output, fmt, REPORT_FORMATS, "pdf")
    where = page_filter(clients=clients, since=since, until=until)
    check_writable(output)
    templates = _report_templates(template_names)
    note = f"store {db_path}" + (f"; {where.describe()}" if where else "")
    with _existing_store(db_path) as store:
        reports = build_reports(store, select_clients(store, where), templates)
    if fmt == "pdf":
        from .report.clinician_pdf import write_report_pdf  # matplotlib: only here

        with atomic_output(output, binary=True) as out:
            pages = write_report_pdf(reports, out, note)
        done = f"{pages} page(s)"
    elif fmt == "html":
        from .report.clinician_html import write_report_html  # matplotlib: only here

        with atomic_output(output) as out:
            write_report_html(reports, out, note)
        done = "one HTML file"
    else:
        with atomic_output(output) as out:
            json.dump(to_dict(reports, note), out, ensure_ascii=False, indent=1)
            out.write("\n")
        done = "JSON"
    _report_note(f"report of {len(reports)} client(s) written to {output} ({done})")
    if not reports:  # the selection is not repeated: it may name a client
        _report_note(f"no client forms in {db_path}" + (" match the selection" if where
                                                        else ""))


@main.command("alerts")
@click.option("-o", "--output", default="-", show_default=True,
              help="File to write ('-' for stdout), e.g. alerts.csv.")
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
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("srsform.db"), show_default=True, help="The record store.")
def alerts_command(output: str, fmt: str | None, since: str | None, until: str | None,
                   every: bool, clients: tuple[str, ...], template_names: tuple[str, ...],
                   db_path: Path) -> None:
    """The alerts of the last scan (the forms the latest `srsform scan` stored), or of the
    sessions --since/--until/--all choose: one line each, for the front desk right after
    scanning. Each alert names its rule and gives a short reason."""
    from .report.clinician import AlertSelection, dated_alerts, last_scan_alerts

    fmt = _format_from(output, fmt, ALERT_FORMATS, "text")
    where = page_filter(clients=clients, since=since, until=until)
    check_writable(output)
    templates = _report_templates(template_names)
    with _existing_store(db_path) as store:
        if since or until or every:
            selection = dated_alerts(store, where, templates)
        else:
            found = last_scan_alerts(store, templates)
            if found is None:
                raise ConfigError(f"{db_path} has no recorded scan run: give --since DAY or "
                                  "--all")
            selection = AlertSelection([a for a in found.alerts
                                        if not clients or a.client in clients],
                                       found.described)
    with atomic_output(output) as out:
        _write_alerts(out, fmt, selection.alerts)
    people = len({alert.client for alert in selection.alerts})
    _report_note(f"{len(selection.alerts)} alert(s) for {people} client(s) in "
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
