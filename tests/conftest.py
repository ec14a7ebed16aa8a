"""Test-wide settings: hypothesis keeps no example database in the checkout."""

from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("srsform", database=None)
settings.load_profile("srsform")


@pytest.fixture(autouse=True)
def _run_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own empty folder, so a default output (`forms.pdf`, the default
    store `srsform.db`) lands under tmp_path, never in the checkout."""
    monkeypatch.chdir(tmp_path)
