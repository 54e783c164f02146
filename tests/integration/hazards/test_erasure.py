"""Erasing a reporter over HTTP against the real stack: afterwards their contact and what they
typed are unreadable in the vault, no answer carries them or links the reporter to a hazard, and
the events are byte for byte what they were."""

from hazards import pii
from tests.integration.hazards.conftest import a_point, assert_problem, report

PHONE, NAME, TYPED = "13812345678", "张三", "楼道堆满纸箱, 我的电话 13987654321"


async def events_of(service) -> list[tuple]:
    async with service.store.pool.acquire() as conn:
        rows = await conn.fetch("SELECT stream_id, version, event_type, data::text, metadata::text FROM events"
                                " ORDER BY global_position")
    return [tuple(r) for r in rows]


async def vault_of(service, subject: str) -> list[str]:
    async with service.store.pool.acquire() as conn:
        return [str(ref) for r in await conn.fetch("SELECT vault_refs FROM hazard_reporters WHERE subject = $1",
                                                    subject) for ref in r["vault_refs"]]


async def reveal_all(service, refs: list[str]) -> list[str | None]:
    async with service.store.pool.acquire() as conn:
        return [await pii.reveal(conn, ref) for ref in refs]


async def test_a_reporter_erasing_themselves_leaves_no_contact_anywhere_and_the_events_untouched(
        client, token, city, resident, service):
    lat, lon, _ = a_point(city, 50)
    me, staff = resident("resident-erase"), token()
    ids = []
    for body in (report(lat, lon), report(lat + 0.01, lon, category="corridor_cluttered", description=TYPED)):
        r = await client.post("/v1/hazards", json=body, headers=me)
        assert r.status_code == 201, r.text
        ids.append(r.json()["hazard_id"])
    refs = await vault_of(service, "resident-erase")
    revealed = await reveal_all(service, refs)
    assert len(refs) == 3 and any(PHONE in v for v in revealed) and any("13987654321" in v for v in revealed)
    assert len((await client.get("/v1/me/hazards", headers=me)).json()["hazards"]) == 2
    events_before = await events_of(service)
    assert not any("resident-erase" in row[4] for row in events_before)  # no event names the reporter

    r = await client.delete("/v1/me/personal-data", headers=me)
    assert r.status_code == 200, r.text
    assert r.json() == {"hazards_followed": 2}

    assert await reveal_all(service, refs) == [None, None, None]  # shredded: the keys are gone
    assert await vault_of(service, "resident-erase") == []
    assert (await client.get("/v1/me/hazards", headers=me)).json()["hazards"] == []
    answers = [await client.get("/v1/me/hazards", headers=me), await client.get("/v1/hazards", headers=staff)]
    for hazard_id in ids:
        assert_problem(await client.get(f"/v1/hazards/{hazard_id}", headers=me), 404, "not-found")
        staff_view = await client.get(f"/v1/hazards/{hazard_id}", headers=staff)
        assert staff_view.status_code == 200 and staff_view.json()["reporter_masked"] == "*******5678"
        answers.append(staff_view)
    for answer in answers:
        assert PHONE not in answer.text and NAME not in answer.text and "13987654321" not in answer.text
    assert await events_of(service) == events_before  # nothing rewritten, nothing added

    again = await client.delete("/v1/me/personal-data", headers=me)
    assert again.status_code == 200 and again.json() == {"hazards_followed": 0}


async def test_an_officer_erases_a_reporter_by_subject_and_nobody_else_may(client, token, city, resident, service):
    lat, lon, _ = a_point(city, 51)
    r = await client.post("/v1/hazards", json=report(lat, lon), headers=resident("resident-asked"))
    assert r.status_code == 201, r.text
    refs = await vault_of(service, "resident-asked")

    assert_problem(await client.delete("/v1/reporters/resident-asked/personal-data", headers=token()), 403,
                   "forbidden")  # a centre's grid worker: every hazards scope but this one
    assert_problem(await client.delete("/v1/reporters/resident-asked/personal-data"), 401, "unauthorized")
    assert_problem(await client.delete("/v1/reporters/" + "x" * 201 + "/personal-data",
                                       headers=token("hazards:erase")), 422, "validation-failed")
    assert await reveal_all(service, refs) != [None]  # none of those erased anything

    erased = await client.delete("/v1/reporters/resident-asked/personal-data", headers=token("hazards:erase"))
    assert erased.status_code == 200 and erased.json() == {"hazards_followed": 1}
    assert await reveal_all(service, refs) == [None]
    assert (await client.get("/v1/me/hazards", headers=resident("resident-asked"))).json()["hazards"] == []
