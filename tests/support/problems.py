"""Asserting a problem+json answer (RFC 9457) by its status and type slug."""

from __future__ import annotations


def assert_problem(response, status: int, slug: str) -> dict:
    """The problem document of `response`, which must have this status and a type ending in `/slug`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/" + slug), body
    return body
