"""Test-wide settings and the fixtures several test files share: the committed samples, the
scan configuration of the bundled templates, and a store holding the scanned samples."""

from __future__ import annotations

import shutil
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
