"""Test-wide settings and fixtures: hypothesis keeps no example database in the checkout; every
test runs in its own folder; the clinic's ORS + SRS roster stack is scanned once per session."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

settings.register_profile("srsform", database=None)
settings.load_profile("srsform")


@pytest.fixture(autouse=True)
def _run_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own empty folder, so a default output (`forms.pdf`, the default
    store `srsform.db`) lands under tmp_path, never in the checkout."""
    monkeypatch.chdir(tmp_path)


@dataclass(frozen=True)
class Clinic:
    """The clinic stack scanned into a store: the forms as planned (known scores) and the
    store (with its evidence beside it)."""

    forms: list  # support.clinic.ClinicForm, in stack order
    db: Path


@pytest.fixture(scope="session")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Clinic:
    """4 clients x 3 sessions, an ORS and an SRS each (24 roster pages), scanned once; every
    item reads ok with its planned score. Tests that change the store use `clinic_db`."""
    from srsform.cli import main
    from support.clinic import plan_forms, scan_forms

    folder = tmp_path_factory.mktemp("clinic")
    forms = plan_forms()
    files = scan_forms(forms, folder / "scans")
    db = folder / "clinic.db"
    result = CliRunner().invoke(main, ["-q", "scan", *map(str, files), "--db", str(db),
                                       "-o", str(folder / "scan.jsonl"), "-j", "1"])
    assert result.exit_code == 0, result.output
    return Clinic(forms, db)


@pytest.fixture()
def clinic_db(clinic: Clinic, tmp_path: Path) -> Path:
    """A copy of the clinic store (and its evidence) for one test to change."""
    copy = tmp_path / clinic.db.name
    shutil.copy(clinic.db, copy)
    evidence = clinic.db.with_name(clinic.db.name + ".evidence")
    shutil.copytree(evidence, tmp_path / evidence.name)
    return copy
