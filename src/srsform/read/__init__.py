"""Stage 2, reading a page: ingest, register, page code, measure, score, evidence."""
