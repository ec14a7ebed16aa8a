"""The `srsform` command: parse options, call the library, map errors to exit codes."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import click

from . import __version__, batch
from .errors import ConfigError, ExitCode, SrsformError
from .export import FORMATS, guess_format, open_writer
from .ingest import expand_inputs
from .layout import PAPERS_MM, build_layout
from .pagecode import PageCode, new_serial
from .pipeline import PageResult, ScanConfig
from .render import PageSpec, render_pdf
from .roster import read_roster
from .store import Store
from .templates import load_bundled, load_template
from .watch import Watcher

log = logging.getLogger("srsform")


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
            ctx.exit(130)
        except Exception as exc:  # noqa: BLE001 - the one place unexpected errors are shown
            _fail(ctx, f"internal error: {exc!r} (run with -v for details; please report it)",
                  ExitCode.INTERNAL)


def _fail(ctx: click.Context, message: str, code: int) -> None:
    if ctx.find_root().params.get("verbose"):
        log.exception("details")
    click.echo(f"srsform: error: {message}", err=True)
    ctx.exit(int(code))


@click.group(cls=_Command)
@click.version_option(__version__, prog_name="srsform")
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
def print_command(template_name: str, paper: str, copies: int, roster: Path | None,
                  output: Path) -> None:
    """Print blank or personalised forms to a PDF."""
    template = load_template(template_name)
    layout = build_layout(template)

    def code(client: str | None = None, session: int | None = None) -> PageCode:
        return PageCode(template.id, template.version, layout.layout_id, new_serial(),
                        client, session)

    if roster is not None:
        specs = [PageSpec(code(row.client, row.session), row.date) for row in read_roster(roster)]
    else:
        specs = [PageSpec(code()) for _ in range(copies)]
    try:
        count = render_pdf(template, layout, specs, paper, output)
    except OSError as exc:
        raise SrsformError(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"srsform: wrote {count} page(s) of '{template.id}' ({paper}, layout "
               f"{layout.layout_id}) to {output}", err=True)


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
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=os.cpu_count() or 1,
              show_default="number of cores", help="Worker processes.")
@click.option("--evidence/--no-evidence", default=True, show_default=True,
              help="Keep an annotated image of each page and a crop of each line beside "
                   "the store (DB.evidence/), for audit and review.")
@click.pass_context
def scan_command(ctx: click.Context, inputs: tuple[str, ...], output: str, fmt: str | None,
                 template_names: tuple[str, ...], db_path: Path, rescan: bool,
                 jobs: int, evidence: bool) -> None:
    """Read scanned forms (PDF, TIFF, JPEG, PNG files or folders): one record per page,
    kept in the store; pages already stored are not read again."""
    fmt = guess_format(output, fmt)
    given = [load_template(name) for name in template_names]
    templates = tuple({t.id + t.version: t for t in [*load_bundled(), *given]}.values())
    config = ScanConfig(templates=templates, fallback=given[0] if len(given) == 1 else None,
                        evidence=evidence)
    paths = expand_inputs(inputs)
    if not paths:
        raise ConfigError("no input files found in " + ", ".join(inputs))
    quiet = ctx.find_root().params.get("quiet")
    with Store(db_path) as store:
        plans = batch.plan(paths, store, rescan=rescan)
        todo = sum(len(p.todo) for p in plans)
        with click.progressbar(length=todo, label="scanning", file=sys.stderr,
                               show_pos=True, hidden=quiet or not sys.stderr.isatty()) as bar:
            def advance(result: PageResult) -> None:
                _log_page(result)
                bar.update(1)

            batch.run(plans, store, config, jobs=jobs, on_page=advance)
        keys = [item.key for t in templates for item in t.items]
        counts: dict[str, int] = {}
        with open_writer(output, fmt, keys) as writer:
            for result in batch.stored_results(plans, store):
                writer.write(result)
                counts[result.status] = counts.get(result.status, 0) + 1
    if not quiet:
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        click.echo(f"srsform: {sum(counts.values())} page(s) ({todo} read now, the rest "
                   f"already stored in {db_path}): {summary}", err=True)
    ctx.exit(int(exit_code_for(counts)))


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
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=os.cpu_count() or 1,
              show_default="number of cores", help="Worker processes.")
@click.option("--once", is_flag=True, help="Read what has settled, then stop.")
def watch_command(folder: Path, db_path: Path, template_names: tuple[str, ...],
                  interval: float, settle: float, jobs: int, once: bool) -> None:
    """Hot folder: read each scan file dropped into FOLDER once, then move it to
    FOLDER/done (or FOLDER/failed when a page could not be read). Ctrl-C stops it."""
    given = [load_template(name) for name in template_names]
    templates = tuple({t.id + t.version: t for t in [*load_bundled(), *given]}.values())
    config = ScanConfig(templates=templates, fallback=given[0] if len(given) == 1 else None,
                        evidence=True)

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


def _log_page(result: PageResult) -> None:
    # Never client codes in the log at default verbosity: they identify a person.
    log.info("%s page %d: %s%s", result.source, result.page, result.status,
             f" ({'; '.join(result.reasons)})" if result.reasons else "")


def exit_code_for(counts: dict[str, int]) -> ExitCode:
    """The scan's exit code from its page statuses (documented in the README)."""
    if counts.get("error") or counts.get("unreadable"):
        return ExitCode.FAILED
    if counts.get("review") or counts.get("not_a_form"):
        return ExitCode.REVIEW
    return ExitCode.OK
