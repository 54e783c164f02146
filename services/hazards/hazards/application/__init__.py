"""The hazards application layer: the intake (随手拍), triage and the closed loop, each a unit of
work over the hazard streams."""

from hazards.application.commands import Assignment, Reported, ReportHazard, Seen
from hazards.application.service import HazardsService, utcnow

__all__ = ["Assignment", "HazardsService", "ReportHazard", "Reported", "Seen", "utcnow"]
