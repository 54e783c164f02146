"""LinkDuty's common library: importable, never run on its own.

Infrastructure and contracts every service shares (event store, outbox, messaging, auth,
telemetry, the API skeleton). No domain rules live here.
"""
