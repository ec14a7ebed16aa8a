"""`python -m srsform`: the same as the `srsform` command."""

from srsform.cli import main

main(prog_name="srsform")
