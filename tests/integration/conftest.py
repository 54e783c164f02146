"""Fixtures every service's integration tests share: the demo city and a local token issuer."""

from __future__ import annotations

import pytest

from linkduty_shared.auth.issuer import LocalIssuer
from linkduty_shared.jurisdictions import load_demo_city


@pytest.fixture(scope="session")
def city():
    return load_demo_city()


@pytest.fixture
def issuer(tmp_path) -> LocalIssuer:
    return LocalIssuer(tmp_path / "auth")
