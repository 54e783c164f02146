"""The units service: fire-rescue forces, their duty rosters, and dispatch plans for alarms."""
