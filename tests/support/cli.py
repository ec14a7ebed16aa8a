"""Running the `srsform` command in-process, as the tests do."""

from __future__ import annotations

from click.testing import CliRunner

from srsform.cli import main


def run(*args: str) -> tuple[int, str, str]:
    """`srsform ARGS...`: its exit code, standard output and standard error."""
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr
