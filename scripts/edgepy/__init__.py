"""Python helpers shared by scripts/demo, bench/ and tests/integration (stdlib only)."""
