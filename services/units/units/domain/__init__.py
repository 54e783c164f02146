"""The units domain as pure code (no I/O): run cards, the travel-time model, availability and the
dispatch planner (一主两辅: one main force, two auxiliaries; DESIGN.md)."""
