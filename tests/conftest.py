"""Test-wide settings and the fixtures several test files share: every test runs in its own
empty folder and never touches the developer's own record store; the committed samples, the
scan configuration of the bundled templates, a store holding the scanned samples, and the
clinic's ORS + SRS roster stack scanned once per session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

from srsform.cli import main
from srsform.errors import ExitCode
from srsform.form.templates import load_bundled
from srsform.read.pipeline import ScanConfig

settings.register_profile("srsform", database=None)
settings.load_profile("srsform")


@pytest.fixture(autouse=True)
def _run_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own empty folder, so a default output (`forms.pdf`, the default
    store `srsform.db`) lands under tmp_path, never in the checkout."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session", autouse=True)
def _no_real_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A command run without --db finds no SRSFORM_DB of the developer's, and its per-user
    store is under a temporary home, never the real one."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("SRSFORM_DB", raising=False)
        patch.setenv("HOME", str(home))
        patch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
        yield


SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture(scope="session")
def samples() -> Path:
    """The committed samples folder (blank forms, truth.jsonl and scans/); read only."""
    return SAMPLES


@pytest.fixture(scope="session")
def sample_scans(samples: Path) -> Path:
    """samples/scans: a 4-page PDF, a 3-page TIFF, two phone photos and a blank sheet."""
    return samples / "scans"


@pytest.fixture(scope="session")
def scan_config() -> ScanConfig:
    """What `srsform scan` reads with by default: every bundled template."""
    return ScanConfig(templates=tuple(load_bundled()))


@pytest.fixture(scope="session")
def scanned_samples(tmp_path_factory: pytest.TempPathFactory, sample_scans: Path) -> Path:
    """The sample scans read once into a store (with its evidence beside it); use a copy."""
    db = tmp_path_factory.mktemp("scanned") / "s.db"
    result = CliRunner().invoke(main, ["-q", "scan", str(sample_scans), "--db", str(db),
                                       "-o", "-", "-j", "1"])
    assert result.exit_code in (ExitCode.REVIEW, ExitCode.FAILED), result.output
    return db


@pytest.fixture()
def samples_db(scanned_samples: Path, tmp_path: Path) -> Path:
    """A copy, under tmp_path, of the store holding the scanned samples: ok pages and pages
    for review, distinct serials."""
    copy = tmp_path / scanned_samples.name
    shutil.copy(scanned_samples, copy)
    evidence = scanned_samples.with_name(f"{scanned_samples.name}.evidence")
    if evidence.is_dir():  # stored evidence paths are relative to the store
        shutil.copytree(evidence, tmp_path / evidence.name)
    return copy


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
