"""srsform: print and read paper Session Rating Scale and Outcome Rating Scale forms."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("srsform")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"
