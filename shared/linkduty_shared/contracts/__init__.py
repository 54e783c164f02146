"""Public, versioned integration contracts between services (what others may consume).

A service's internal events are not automatically its contract: what crosses a service boundary
is declared here.
"""


class ContractViolation(ValueError):
    """A consumed record whose data breaks its contract: poison, dead-lettered at once (a retry
    cannot make it valid), never acted on or shown."""
