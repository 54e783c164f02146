"""Who may open a centre's stream: problem+json for every refusal, over SSE, REST and WebSocket."""

from __future__ import annotations

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

PROBLEM_JSON = "application/problem+json"


def assert_problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"].endswith("/" + slug) and body["status"] == status
    return body


async def _status(http, url: str, **kwargs) -> int:
    async with http.stream("GET", url, **kwargs) as response:
        return response.status_code


async def test_a_community_console_cannot_open_its_sibling_community(http, places, console_of):
    a, b = places["a"], places["b"]
    assert await _status(http, f"/v1/centres/{a.id}/stream", headers=console_of(a)) == 200
    refused = await http.get(f"/v1/centres/{b.id}/stream", headers=console_of(a))
    assert "outside" in assert_problem(refused, 403, "forbidden")["detail"]
    assert_problem(await http.get(f"/v1/centres/{b.id}/alarms", headers=console_of(a)), 403, "forbidden")


async def test_a_district_jurisdiction_opens_every_centre_inside_it_but_not_above(http, places, token, city):
    district = {"Authorization": "Bearer " + token(jurisdiction=[places["district"].division_code])}
    for name in ("a", "b", "street", "district"):
        assert await _status(http, f"/v1/centres/{places[name].id}/stream", headers=district) == 200, name
    city_centre = city.centre_of(city.city.code)
    assert_problem(await http.get(f"/v1/centres/{city_centre.id}/stream", headers=district), 403, "forbidden")


async def test_the_token_may_come_as_a_query_parameter(http, places, token):
    a = places["a"]
    assert await _status(http, f"/v1/centres/{a.id}/stream", params={"access_token": token(centre=a)}) == 200


async def test_no_token_bad_token_missing_scope_unknown_centre_and_bad_last_id(http, places, token, console_of):
    a = places["a"]
    no_token = assert_problem(await http.get(f"/v1/centres/{a.id}/stream"), 401, "unauthorized")
    assert no_token["detail"]
    bad = await http.get(f"/v1/centres/{a.id}/stream", headers={"Authorization": "Bearer not.a.jwt"})
    assert_problem(bad, 401, "unauthorized")
    assert bad.headers["www-authenticate"].startswith("Bearer")
    assert_problem(await http.get(f"/v1/centres/{a.id}/stream", headers={"Authorization": "Basic abc"}), 401, "unauthorized")
    no_scope = {"Authorization": "Bearer " + token(centre=a, scopes=("alarms:read",))}
    assert "stream:read" in assert_problem(await http.get(f"/v1/centres/{a.id}/stream", headers=no_scope), 403, "forbidden")["detail"]
    assert_problem(await http.get("/v1/centres/centre-999999/stream", headers=console_of(a)), 404, "unknown-centre")
    bad_id = await http.get(f"/v1/centres/{a.id}/stream", headers={**console_of(a), "Last-Event-ID": "abc"})
    assert_problem(bad_id, 400, "bad-last-event-id")


@pytest.mark.parametrize("case", ["no token", "sibling", "unknown centre"])
async def test_a_refused_websocket_handshake_answers_with_the_same_problem(gateway, places, token, case):
    a, b = places["a"], places["b"]
    url, expected = {
        "no token": (f"/v1/centres/{a.id}/ws", 401),
        "sibling": (f"/v1/centres/{b.id}/ws?access_token={token(centre=a, jurisdiction=[a.division_code])}", 403),
        "unknown centre": (f"/v1/centres/centre-999999/ws?access_token={token(centre=a)}", 404),
    }[case]
    with pytest.raises(InvalidStatus) as refused:
        async with connect(gateway.ws_url + url):
            pass
    response = refused.value.response
    assert response.status_code == expected
    assert response.headers["content-type"] == PROBLEM_JSON and b'"status":%d' % expected in response.body
