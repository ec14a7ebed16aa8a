"""srsform: print and read paper Session Rating Scale and Outcome Rating Scale forms."""


def __getattr__(name: str) -> str:
    # The installed version, looked up only when asked for (importlib.metadata is slow to load).
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("srsform")
        except PackageNotFoundError:  # running from a source tree without an install
            return "0.0.0+unknown"
    raise AttributeError(f"module 'srsform' has no attribute {name!r}")
