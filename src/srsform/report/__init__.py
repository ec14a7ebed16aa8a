"""Stage 4, what people and programs get from the store: exports, review, audits."""
