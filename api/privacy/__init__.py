"""PIPL basics: retention per kind of personal data with a scheduled purge, a citizen's export and erasure."""
