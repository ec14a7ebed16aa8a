"""Test-data generators and helpers shared by the tests, bench/ and samples/ (not shipped)."""
