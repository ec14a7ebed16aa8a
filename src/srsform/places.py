"""Where the record store is: found the same way by every command.

`--db` if given, else the `SRSFORM_DB` environment variable, else `srsform.db` in the
current folder if one is there, else one store per user in the platform's data folder
(platformdirs: `~/.local/share/srsform/` on Linux, honouring XDG_DATA_HOME). So a clinic's
records land in one store wherever srsform is run from, unless a store is named.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "SRSFORM_DB"
STORE_NAME = "srsform.db"
APP_NAME = "srsform"
PER_USER = "the per-user store"


@dataclass(frozen=True)
class StorePlace:
    """The store a command uses, and what chose it (said in messages and `srsform info`)."""

    path: Path
    chosen_by: str  # "--db", "SRSFORM_DB", "the current folder" or PER_USER

    @property
    def per_user(self) -> bool:
        return self.chosen_by == PER_USER


def find_store(given: Path | None, environ: Mapping[str, str] | None = None,
               cwd: Path | None = None) -> StorePlace:
    """The store to use: `given` (--db), else $SRSFORM_DB, else ./srsform.db if it exists,
    else the per-user store. Only looks; creates nothing."""
    environ = os.environ if environ is None else environ
    if given is not None:
        return StorePlace(given, "--db")
    if environ.get(ENV_VAR):
        return StorePlace(Path(os.path.expanduser(environ[ENV_VAR])), ENV_VAR)
    local = (cwd or Path.cwd()) / STORE_NAME  # absolute: messages say which folder
    if local.is_file():
        return StorePlace(local, "the current folder")
    return StorePlace(per_user_store(), PER_USER)


def per_user_store() -> Path:
    """The one store per user, in the platform's data folder (which may not exist yet)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False)) / STORE_NAME


def make_store_folder(place: StorePlace) -> None:
    """Create the per-user store's folder, readable by its owner only (clinical records).

    A store named by --db or SRSFORM_DB must be in a folder that exists: a typo there
    should fail, not create folders."""
    if not place.per_user:
        return
    folder = place.path.parent
    if not folder.is_dir():
        folder.mkdir(mode=0o700, parents=True)
        os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask
