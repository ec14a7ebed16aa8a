"""The command line as a user meets it, through the installed `srsform` script in a real
process: '-' for standard input and output, -q/-v before or after the command, the store
found the same way from any folder, help that lists the exit codes, shell completion.

Every run gets a home, data folder and temporary folder under tmp_path, so the per-user
store it may create is never the real one."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest

from srsform.cli import main
from srsform.errors import ExitCode
from srsform.places import ENV_VAR, PER_USER, find_store

ROOT = Path(__file__).resolve().parent.parent
SCANS = ROOT / "samples" / "scans"
STACK = SCANS / "stack.pdf"  # four SRS pages: two ok, two for review
PHOTO = SCANS / "photo-008.jpg"  # one SRS page, serial SAMP00000017
BLANK_PAGE = SCANS / "scan-010.png"  # a blank sheet: not_a_form
CLIENT_CODES = ("C1002", "C1003", "C1008")  # on the pages above


def _command() -> str:
    beside = Path(sys.executable).with_name("srsform")
    found = str(beside) if beside.exists() else shutil.which("srsform")
    assert found, "the srsform command is not installed"
    return found


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home of its own, with an empty temporary folder (to see stdin's copy go)."""
    (tmp_path / "home" / "tmp").mkdir(parents=True)
    return tmp_path / "home"


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name != ENV_VAR}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), TMPDIR=str(home / "tmp"))
    env.update(extra)
    return env


def srsform(*args: str | Path, cwd: Path, env: dict[str, str], stdin: bytes | None = None
            ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([_command(), *map(str, args)], cwd=cwd, env=env, input=stdin,
                          capture_output=True, timeout=300, check=False)
    return subprocess.CompletedProcess(done.args, done.returncode,
                                       done.stdout.decode(errors="replace"),
                                       done.stderr.decode(errors="replace"))


def _pipe(first: list[str], second: list[str], cwd: Path, env: dict[str, str]
          ) -> tuple[int, int, bytes, bytes]:
    """`first | second` through a real pipe: both exit codes, second's stdout, first's
    stderr."""
    left = subprocess.Popen(first, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    right = subprocess.Popen(second, cwd=cwd, env=env, stdin=left.stdout,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert left.stdout is not None and left.stderr is not None
    left.stdout.close()  # the pipe is the right-hand side's now
    out, _ = right.communicate(timeout=300)
    err = left.stderr.read()
    left.stderr.close()
    return left.wait(timeout=300), right.returncode, out, err


# --- '-' is standard output and standard input ----------------------------------------------

def test_print_to_stdout_pipes_into_pdfinfo(home: Path, tmp_path: Path) -> None:
    env = _env(home)
    printed, shown, info, err = _pipe([_command(), "print", "-o", "-"], ["pdfinfo", "-"],
                                      tmp_path, env)
    assert (printed, shown) == (0, 0), err
    assert re.search(rb"^Pages:\s+1$", info, re.MULTILINE)
    assert b"standard output" in err
    assert not (tmp_path / "-").exists()


def test_a_roster_read_from_stdin_prints_a_page_per_row(home: Path, tmp_path: Path) -> None:
    roster = b"client,session,date\nC1,1,2026-01-05\nC2,4,\n"
    done = subprocess.run([_command(), "print", "--roster", "-", "-o", "-"], cwd=tmp_path,
                          env=_env(home), input=roster, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    info = subprocess.run(["pdfinfo", "-"], input=done.stdout, capture_output=True, check=True)
    assert re.search(rb"^Pages:\s+2$", info.stdout, re.MULTILINE)


def test_a_pdf_is_not_written_to_a_terminal(home: Path, tmp_path: Path) -> None:
    leader, follower = os.openpty()
    try:
        done = subprocess.run([_command(), "print", "-o", "-"], cwd=tmp_path, env=_env(home),
                              stdout=follower, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == ExitCode.CONFIG
    assert "terminal" in done.stderr and "Traceback" not in done.stderr


def test_scan_reads_one_file_from_stdin(home: Path, tmp_path: Path) -> None:
    env, db = _env(home), tmp_path / "s.db"
    scan = [_command(), "scan", "-", "-o", "-", "--db", str(db)]
    code, _, out, err = _pipe(["cat", str(BLANK_PAGE)], scan, tmp_path, env)
    assert code == 0
    [record] = [json.loads(line) for line in out.splitlines()]
    assert (record["source"], record["page"], record["status"]) == ("<stdin>", 1, "not_a_form")

    code, read, out, _ = _pipe(["cat", str(PHOTO)], scan, tmp_path, env)
    assert read in (ExitCode.OK, ExitCode.REVIEW)
    [record] = [json.loads(line) for line in out.splitlines()]
    assert (record["source"], record["serial"]) == ("<stdin>", "SAMP00000017")
    assert list((home / "tmp").iterdir()) == []  # stdin's private copy is gone

    # The store knows the file by its content, however it arrived.
    again = srsform("scan", PHOTO, "-o", "-", "--db", db, cwd=tmp_path, env=env)
    assert "(0 read now, 1 already stored)" in again.stderr
    assert json.loads(again.stdout)["serial"] == "SAMP00000017"
    twice = srsform("scan", "-", "-", "-o", "-", "--db", db, cwd=tmp_path, env=env, stdin=b"")
    assert twice.returncode == ExitCode.CONFIG and "once" in twice.stderr


# --- -q and -v before or after the command ---------------------------------------------------

def test_quiet_before_or_after_scan_behaves_alike(home: Path, tmp_path: Path) -> None:
    env = _env(home)
    before = srsform("-q", "scan", STACK, "--db", tmp_path / "a.db", "-o", "-", cwd=tmp_path,
                     env=env)
    after = srsform("scan", "-q", STACK, "--db", tmp_path / "b.db", "-o", "-", cwd=tmp_path,
                    env=env)
    assert before.returncode == after.returncode == ExitCode.REVIEW
    assert before.stderr == after.stderr == ""
    assert before.stdout == after.stdout and len(after.stdout.splitlines()) == 4


def test_verbose_before_or_after_scan_is_one_line_per_page(home: Path, tmp_path: Path) -> None:
    env = _env(home)
    runs = [srsform(*args, cwd=tmp_path, env=env) for args in (
        ("-v", "scan", STACK, "--db", tmp_path / "a.db", "-o", tmp_path / "a.jsonl"),
        ("scan", STACK, "-v", "--db", tmp_path / "b.db", "-o", tmp_path / "b.jsonl"))]
    for run in runs:
        page_lines = [line for line in run.stderr.splitlines() if " page " in line]
        assert len(page_lines) == 4, run.stderr
        assert not any(code in run.stderr for code in CLIENT_CODES)


@pytest.fixture
def stored(home: Path, tmp_path: Path) -> Path:
    db = tmp_path / "stored.db"
    done = srsform("-q", "scan", STACK, "--db", db, "-o", os.devnull, "--no-evidence",
                   cwd=tmp_path, env=_env(home))
    assert done.returncode == ExitCode.REVIEW, done.stderr
    return db


@pytest.mark.parametrize("args", [
    ("print", "-o", "{tmp}/blank.pdf"),
    ("export", "--db", "{db}", "-o", "{tmp}/all.csv"),
    ("audit", "--db", "{db}", "-o", "{tmp}/audit.pdf"),
    ("review", "list", "--db", "{db}"),
], ids=["print", "export", "audit", "review-list"])
def test_quiet_leaves_stderr_empty_wherever_it_is_given(args: tuple[str, ...], stored: Path,
                                                        home: Path, tmp_path: Path) -> None:
    args = tuple(a.format(tmp=tmp_path, db=stored) for a in args)
    env = _env(home)
    said = srsform(*args, cwd=tmp_path, env=env)
    assert said.returncode == 0 and said.stderr.startswith("srsform: "), said.stderr
    if "--db" in args:
        assert str(stored) in said.stderr  # the summary names the store
    for quiet in (("-q", *args), (*args, "-q")):
        done = srsform(*quiet, cwd=tmp_path, env=env)
        assert (done.returncode, done.stderr) == (0, ""), quiet


# --- one store, found the same way every time ------------------------------------------------

def test_srsform_db_is_the_store_from_any_folder(home: Path, tmp_path: Path) -> None:
    clinic, here, there = home / "clinic.db", tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    env = _env(home, SRSFORM_DB=str(clinic))
    first = srsform("scan", STACK, "-o", os.devnull, cwd=here, env=env)
    assert first.returncode == ExitCode.REVIEW, first.stderr
    assert first.stderr.count("created a new store") == 1 and str(clinic) in first.stderr
    assert clinic.exists() and not list(here.iterdir())

    export = srsform("export", "--format", "csv", cwd=there, env=env)
    assert export.returncode == 0 and len(export.stdout.splitlines()) == 1 + 4
    again = srsform("scan", STACK, "-o", os.devnull, cwd=there, env=env)
    assert "created" not in again.stderr and "(0 read now, 4 already stored)" in again.stderr
    info = srsform("info", cwd=there, env=env)
    assert f"store\t{clinic}\n" in info.stdout and f"chosen by\t{ENV_VAR}\n" in info.stdout
    other = srsform("info", "--db", tmp_path / "other.db", cwd=there, env=env)
    assert "chosen by\t--db" in other.stdout and "exists\tno" in other.stdout


def test_without_a_store_named_or_here_the_per_user_store_is_used(home: Path, tmp_path: Path
                                                                  ) -> None:
    env = _env(home)
    missing = srsform("export", cwd=tmp_path, env=env)
    assert missing.returncode == ExitCode.CONFIG and "no store at" in missing.stderr
    first = srsform("scan", PHOTO, "-o", os.devnull, cwd=tmp_path, env=env)
    per_user = home / "data" / "srsform" / "srsform.db"
    assert per_user.exists() and str(per_user) in first.stderr
    assert "created a new store" in first.stderr and PER_USER in first.stderr
    assert per_user.parent.stat().st_mode & 0o777 == 0o700
    assert not (tmp_path / "srsform.db").exists()
    second = srsform("scan", PHOTO, "-o", os.devnull, cwd=tmp_path, env=env)
    assert "created" not in second.stderr and str(per_user) in second.stderr

    # A store in the current folder is used before the per-user one.
    local = tmp_path / "srsform.db"
    srsform("-q", "scan", BLANK_PAGE, "--db", local, "-o", os.devnull, cwd=tmp_path, env=env)
    info = srsform("info", cwd=tmp_path, env=env)
    assert f"store\t{local}\n" in info.stdout and "the current folder" in info.stdout


def test_the_store_is_chosen_in_a_fixed_order(tmp_path: Path) -> None:
    given, named = tmp_path / "given.db", str(tmp_path / "named.db")
    env = {ENV_VAR: named}
    assert find_store(given, env, tmp_path).path == given
    assert find_store(None, env, tmp_path).path == Path(named)
    assert find_store(None, {ENV_VAR: ""}, tmp_path).chosen_by == PER_USER
    (tmp_path / "srsform.db").touch()
    assert find_store(None, {}, tmp_path).path == tmp_path / "srsform.db"
    assert find_store(None, env, tmp_path).path == Path(named)


# --- help that stands alone ------------------------------------------------------------------

def _commands(group: click.Group = main, prefix: tuple[str, ...] = ()
              ) -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = []
    for name, command in group.commands.items():
        found.append(((*prefix, name), command))
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
    return found


def test_srsform_help_shows_every_exit_code(home: Path, tmp_path: Path) -> None:
    done = srsform("--help", cwd=tmp_path, env=_env(home))
    assert done.returncode == 0
    for code in ExitCode:
        assert re.search(rf"^\s+{int(code)}  {re.escape(code.meaning)}$", done.stdout,
                         re.MULTILINE), code


@pytest.mark.parametrize("path", [path for path, _ in _commands()], ids=" ".join)
def test_each_command_s_help_lists_its_exit_codes_and_ends_with_examples(
        path: tuple[str, ...], home: Path, tmp_path: Path) -> None:
    done = srsform(*path, "--help", cwd=tmp_path, env=_env(home))
    assert done.returncode == 0
    codes_part, examples = done.stdout.split("Exit codes:\n")[1].split("Examples:\n")
    codes = [int(line.split()[0]) for line in codes_part.splitlines() if line.strip()]
    assert {0, 1, 2} <= set(codes) <= {int(code) for code in ExitCode}
    lines = [line.strip() for line in examples.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2 and all("srsform " + path[0] in line for line in lines)


def test_every_option_has_help() -> None:
    missing = [f"{' '.join(path)} {param.opts[0]}" for path, command in
               [((), main), *_commands()] for param in command.get_params(click.Context(main))
               if isinstance(param, click.Option) and not param.help]
    assert missing == []


def test_readme_exit_code_table_is_the_codes() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("### Exit codes")[1].split("\n#")[0]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", table, re.MULTILINE)
    assert rows == [(str(int(code)), code.meaning) for code in ExitCode]


def test_watch_once_does_not_say_ctrl_c(home: Path, tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    done = srsform("watch", "inbox", "--once", "--settle", "0", "--interval", "0.1",
                   "--db", tmp_path / "s.db", cwd=tmp_path, env=_env(home))
    assert done.returncode == 0, done.stderr
    assert "Ctrl-C" not in done.stderr and "s.db" in done.stderr


# --- shell completion and packaging ----------------------------------------------------------

def test_shell_completion_scripts_and_answers(home: Path, tmp_path: Path) -> None:
    for shell in ("bash", "zsh"):
        script = srsform(cwd=tmp_path, env=_env(home, _SRSFORM_COMPLETE=f"{shell}_source"))
        assert script.returncode == 0 and "_SRSFORM_COMPLETE" in script.stdout
    words = {"scan": ("srsform sc", 1), "csrs": ("srsform print --template cs", 3)}
    for expected, (line, index) in words.items():
        done = srsform(cwd=tmp_path, env=_env(home, _SRSFORM_COMPLETE="bash_complete",
                                              COMP_WORDS=line, COMP_CWORD=str(index)))
        assert f"plain,{expected}" in done.stdout.splitlines(), done.stdout


def test_the_licence_is_an_spdx_expression() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert "setuptools>=77" in project["build-system"]["requires"]
