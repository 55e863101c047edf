"""One module per API resource: its request builders and the parsers of its answers (no I/O)."""
