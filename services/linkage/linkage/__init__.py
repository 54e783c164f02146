"""The linkage worker: routing of alarm events to operations centres, and the acknowledgement
timers that escalate an unacknowledged alarm one level up (linkage.bootstrap)."""
