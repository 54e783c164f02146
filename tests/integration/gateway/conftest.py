"""The gateway against the real stack: its own test schema, a test notifications topic, real
records produced to it, tokens from a local issuer."""

from __future__ import annotations

import contextlib
import uuid

import httpx
import pytest

from gateway.config import GatewaySettings
from linkduty_shared.jurisdictions import Level
from tests.integration.gateway.support import SseReader, serving


@pytest.fixture(scope="session")
def places(city):
    """Two sibling communities (A, B) of one street, and their district."""
    district = city.divisions(Level.DISTRICT)[0]
    street = next(s for s in city.children(district.code) if len(city.children(s.code)) >= 2)
    a, b = city.children(street.code)[:2]
    return {"a": city.centre_of(a.code), "b": city.centre_of(b.code), "street": city.centre_of(street.code),
            "district": city.centre_of(district.code)}


@pytest.fixture
def token(issuer):
    """token(centre=…, jurisdiction=[codes], scopes=…) → the JWT."""

    def make(*, centre=None, jurisdiction=(), scopes=("stream:read",)) -> str:
        return issuer.issue(f"console-{uuid.uuid4().hex[:6]}", list(scopes), jurisdiction=list(jurisdiction),
                            centre=centre.id if centre is not None else None)

    return make


@pytest.fixture
def console_of(token):
    """The bearer header of a centre's own console (its centre claim and its division)."""
    return lambda centre: {"Authorization": "Bearer " + token(centre=centre, jurisdiction=[centre.division_code])}


@pytest.fixture
def settings_overrides() -> dict:
    """Override (or parametrize) in a test module to change the gateway's settings."""
    return {}


@pytest.fixture
def settings(schema_dsn, kafka_bootstrap, issuer, topic, settings_overrides) -> GatewaySettings:
    return GatewaySettings(
        service_name=f"gateway-test-{uuid.uuid4().hex[:6]}", pg_dsn=schema_dsn, kafka_bootstrap=kafka_bootstrap,
        auth_jwks_file=str(issuer.jwks_file), auth_issuer=issuer.issuer, notifications_topic=topic,
        feed_poll_interval_s=0.2, pg_pool_max=10, **settings_overrides,
    )


@pytest.fixture
async def gateway(settings):
    async with serving(settings) as served:
        yield served


@pytest.fixture
async def http(gateway):
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=httpx.Timeout(30.0)) as client:
        yield client


@pytest.fixture
def open_stream(http):
    """open_stream(centre_id, headers, **params) → an SseReader over a live connection."""

    @contextlib.asynccontextmanager
    async def open_(centre_id: str, headers: dict[str, str], **params):
        async with http.stream("GET", f"/v1/centres/{centre_id}/stream", headers=headers, params=params) as response:
            assert response.status_code == 200, (await response.aread()).decode()
            assert response.headers["content-type"].startswith("text/event-stream")
            yield SseReader(response)

    return open_
