"""The worst bodies the volunteers API can be sent, against the service as deployed (its own
process): each a clear 4xx, nothing written, and `/healthz` answering within 100 ms throughout."""

from __future__ import annotations

import httpx

from tests.integration.volunteers.conftest import SERVED_FIELDS, community
from tests.support.problems import assert_problem
from tests.support.served import healthz_delays_while, served

async def test_healthz_answers_within_100_ms_while_the_worst_bodies_are_refused(
        volunteers_settings, token, me, city, tmp_path, volunteers_app):
    home = community(city, 0).code
    staff, app = token() | {"content-type": "application/json"}, me("nobody") | {"content-type": "application/json"}
    order = ('{"kind":"talk_or_drill","community":"%s","lat":30.27,"lon":120.15,"address":"x","contact_phone":'
             '"13800000000","description":"%s"}')
    huge = (order % (home, "讲" * 2_000_000)).encode()  # 6 MB of text in one field: over the 16 KiB bodies
    deep = b'{"kind":' + b"[" * 7_000 + b"]" * 7_000 + b"}"  # as deep as fits the limit
    nul = (order % (home, "\\u0000" * 2_000)).encode()
    many_hazards = ('{"report":"r","hours_spent":1,"hazards_found":[' + ",".join(
        '{"category":"other","description":"d","lat":30,"lon":120}' for _ in range(21)) + "]}").encode()
    async with served("volunteers.main", volunteers_settings, SERVED_FIELDS, tmp_path) as service:
        service.timeout = httpx.Timeout(60)
        await service.get("/healthz")

        async def attack() -> None:
            for _ in range(10):
                r = await service.post("/v1/orders", content=huge, headers=staff)
                assert r.status_code == 413, r.text[:300]
                r = await service.post("/v1/orders", content=deep, headers=staff)
                assert 400 <= r.status_code < 500, r.text[:300]
                r = await service.post("/v1/orders", content=nul, headers=staff)
                assert 400 <= r.status_code < 500, r.text[:300]
                assert_problem(await service.post("/v1/me/orders/x/completion", content=many_hazards, headers=app),
                               422, "validation-failed")
                for _ in range(20):
                    r = await service.put("/v1/me/position", content=b'{"lat":91,"lon":0}', headers=app)
                    assert r.status_code == 422, r.text[:300]

        delays = await healthz_delays_while(service, attack)
    assert len(delays) > 20 and max(delays) < 0.1, (len(delays), sorted(delays)[-5:])
    async with volunteers_app.state.volunteers.store.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM order_list") == 0  # nothing half-written
        assert await conn.fetchval("SELECT count(*) FROM volunteer_positions") == 0
