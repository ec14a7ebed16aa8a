"""Test-wide settings: hypothesis keeps no example database in the checkout, and no test
touches the developer's own record store."""

from collections.abc import Iterator
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
