"""The alarm domain: a 119 incident and its calls, as pure code (no I/O)."""
