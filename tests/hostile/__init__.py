"""A corpus of hostile inputs for `srsform scan`, built at test time (see build.py)."""
