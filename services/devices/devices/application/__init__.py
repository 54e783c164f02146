from devices.application.intake import Intake
from devices.application.registry import Registry, utcnow

__all__ = ["Intake", "Registry", "utcnow"]
