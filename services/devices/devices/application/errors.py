"""Why the devices service refuses a command or a signal: each a domain error, answered as
problem+json in one place (`linkduty_shared.api.problems`); an MQTT signal refused for one of
these is dead-lettered with its slug and detail. A device, resident or premises outside the
caller's jurisdiction is not refused here: it is not found (404), like one that does not exist."""

from __future__ import annotations

from linkduty_shared import domain as shared
from linkduty_shared.domain import DomainError


class UnknownPlatform(DomainError):
    type_slug, status, title = "unknown-platform", 401, "No IoT platform of that id sends signals here"


class BadSignature(DomainError):
    type_slug, status, title = "bad-signature", 401, "The signal's signature does not verify"


class SignalReplayed(DomainError):
    type_slug, status, title = "signal-replayed", 409, "This signal was taken in already"


class UnknownDevice(DomainError):
    type_slug, status, title = "unknown-device", 422, "No device of that id is registered for this platform"


class MalformedSignal(DomainError):
    type_slug, status, title = "malformed-signal", 422, "The signal breaks its contract"


class SignalFromTheFuture(DomainError):
    type_slug, status, title = "signal-in-the-future", 422, "The signal's time lies ahead of LinkDuty's clock"


class SignalTooOld(DomainError):
    type_slug, status, title = "signal-too-old", 422, "The signal is older than its replay window"


class OutsideTheCity(DomainError):
    type_slug, status, title = "outside-the-city", 422, "That point lies in no micro-grid of the city"


class NotACommunity(DomainError):
    type_slug, status, title = "not-a-community", 422, "A resident's home is in a community"


class UnknownResidentOrPremises(DomainError):
    type_slug, status, title = "unknown-link", 422, "No resident or premises of that id in your jurisdiction"


class PersonalDataErased(DomainError):
    type_slug, status, title = "personal-data-erased", 404, "This person's data was erased"


class DeviceRegisteredAlready(DomainError):
    type_slug, status, title = "device-registered-already", 409, "A device of that id is registered already"


class OutsideYourJurisdiction(shared.OutsideYourJurisdiction):
    title = "That place is outside your jurisdiction"
