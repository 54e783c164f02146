"""Value vocabularies of the hazard domain."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """How grave a hazard is: a graver one is triaged and rectified sooner (categories.toml)."""

    MINOR = "minor"
    MODERATE = "moderate"
    MAJOR = "major"  # 重大火灾隐患


class Source(StrEnum):
    """Who found it."""

    RESIDENT_APP = "resident_app"  # 随手拍
    GRID_WORKER = "grid_worker"
    VOLUNTEER = "volunteer"
    INSPECTOR = "inspector"
    JOINT_PATROL = "joint_patrol"  # 联防: the units service's patrol findings (consumers.py)
    HOTLINE = "hotline"  # 12345
    INSPECTION = "inspection"  # a failed item of a venue inspection (InspectionRecorded)
    DEVICE = "device"  # a networked detector's trouble (devices.events DeviceTroubleBegan, consumers.py)


class Status(StrEnum):
    REPORTED = "reported"  # waiting for triage
    ACCEPTED = "accepted"  # a hazard; nobody assigned yet
    REJECTED = "rejected"
    MERGED = "merged"  # the same as an open hazard: followed there
    RECTIFYING = "rectifying"  # 整改: assigned, the fixer at work (again, after a failed verification or a reopening)
    AWAITING_VERIFICATION = "awaiting_verification"  # the fixer says it is done
    CLOSED = "closed"  # verified; a re-inspection (回头看) is scheduled
    CONFIRMED = "confirmed"  # the re-inspection found it still fixed: the loop is closed


OPEN_STATUSES = frozenset({Status.REPORTED, Status.ACCEPTED, Status.RECTIFYING, Status.AWAITING_VERIFICATION})
CLOSED_STATUSES = frozenset({Status.CLOSED, Status.CONFIRMED})  # fixed: a new report there may be a recurrence


class ResolvedHow(StrEnum):
    """How a hazard's own source ended it (HazardResolvedAtSource): a device's trouble ended."""

    REPORTED_AGAIN = "reported_again"  # an offline detector is heard from again
    BATTERY_OK = "battery_ok"
    MAINTAINED = "maintained"  # a maintenance record at the devices service (fault, tamper)


class RejectionReason(StrEnum):
    NOT_A_HAZARD = "not_a_hazard"
    OUTSIDE_REMIT = "outside_remit"  # someone else's to handle: the rejection says whose
    INSUFFICIENT_INFORMATION = "insufficient_information"


class AssigneeKind(StrEnum):
    """Who must fix it."""

    VENUE_CONTACT = "venue_contact"  # the venue's responsible person (消防安全责任人)
    PROPERTY_MANAGER = "property_manager"
    COMMUNITY = "community"
    VOLUNTEER_TEAM = "volunteer_team"


class RiskClass(StrEnum):
    """A venue's fire risk (风险等级), as the street classifies it."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class VenueStatus(StrEnum):
    ACTIVE = "active"
    DEREGISTERED = "deregistered"


class InspectionKind(StrEnum):
    SELF_CHECK = "self_check"  # 自查: the venue's own fire-safety contact
    PATROL = "patrol"  # 巡查: a grid worker or volunteer
    JOINT = "joint"  # 联合检查 (防消联勤): the street's emergency office, the venue's contact and firefighters


class ItemResult(StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # a hazard is opened, with its deadline
    FIXED_ON_SPOT = "fixed_on_spot"  # 当场整改: found and fixed at once
    NOT_APPLICABLE = "not_applicable"


class ParticipantRole(StrEnum):
    STREET_OFFICE = "street_office"  # the street's emergency management office (街道应急办)
    COMMUNITY = "community"
    VENUE_CONTACT = "venue_contact"
    FIRE_STATION = "fire_station"  # firefighters of a station, from the units directory
    GRID_WORKER = "grid_worker"
    VOLUNTEER = "volunteer"


class ReinspectionOutcome(StrEnum):
    CONFIRMED = "confirmed"
    REOPENED = "reopened"
