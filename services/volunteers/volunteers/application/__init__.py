from volunteers.application.service import VolunteersService, utcnow

__all__ = ["VolunteersService", "utcnow"]
