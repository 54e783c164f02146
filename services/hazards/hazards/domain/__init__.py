"""The hazard domain: a reported fire hazard and its closed loop (闭环), as pure code (no I/O)."""
