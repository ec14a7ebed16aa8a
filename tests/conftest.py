"""Test-wide settings: hypothesis keeps no example database in the checkout."""

from hypothesis import settings

settings.register_profile("srsform", database=None)
settings.load_profile("srsform")
