"""Public, versioned integration contracts between services (what others may consume).

A service's internal events are not automatically its contract: what crosses a service boundary
is declared here.
"""
