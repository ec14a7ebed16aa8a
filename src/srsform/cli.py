"""The `srsform` command: parse options, call the library, map errors to exit codes."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from . import __version__
from .errors import ExitCode, SrsformError
from .layout import PAPERS_MM, build_layout
from .pagecode import PageCode, new_serial
from .render import PageSpec, render_pdf
from .roster import read_roster
from .templates import load_bundled, load_template

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
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="srsform: %(levelname)s: %(message)s", stream=sys.stderr)


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
