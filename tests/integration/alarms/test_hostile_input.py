"""The worst bodies a client can send to the 119 intake: each is a bounded 4xx problem, and the
event loop keeps answering /healthz meanwhile (issue 10: one 11 MiB body had frozen it 14 s)."""

import asyncio
import json
import os

import httpx
import pytest

from linkduty_shared.api.limits import DEFAULT_MAX_BODY_BYTES
from linkduty_shared.api.problems import MAX_REPORTED_ERRORS, PROBLEM_JSON
from tests.support.served import healthz_delays_while
from tests.support.served import served as serve
from tests.integration.alarms.test_intake import a_point, call

JSON = {"content-type": "application/json"}


def many_unknown_keys(limit: int, city) -> bytes:
    """The largest JSON object under `limit`: a valid call plus as many unknown keys as fit (each an error)."""
    lat, lon, _ = a_point(city)
    head = json.dumps(call(lat, lon)).encode()[:-1]  # without its closing brace
    keys, size, i = [], len(head) + 1, 0
    while size + len(f',"k{i:06d}":1') < limit:
        keys.append(f',"k{i:06d}":1')
        size += len(keys[-1])
        i += 1
    return head + "".join(keys).encode() + b"}"


def worst_bodies(city) -> dict[str, tuple[bytes, dict[str, str], int]]:
    """name → (body, headers, the status it must get)."""
    limit = DEFAULT_MAX_BODY_BYTES
    return {
        "unknown keys up to the limit": (many_unknown_keys(limit, city), JSON, 422),
        "nesting up to the limit": (b"[" * (limit - 1), JSON, 400),
        "one key as long as the limit": (b'{"' + b"k" * (limit - 8) + b'":1}', JSON, 422),
        "not UTF-8": (b'{"source": "\xff\xfe"}' + b" " * 1000, JSON, 400),
        "11 MiB of keys (over the limit)": (b'{"k":1' + b',"k":1' * (11 * 2**20 // 6) + b"}", JSON, 413),
        "CAP over its 256 KiB": (b"<alert>" + b" " * (300 * 1024) + b"</alert>", {"content-type": "application/cap+xml"}, 413),
    }


async def test_every_worst_body_is_a_bounded_problem(client, token, city):
    for name, (body, headers, status) in worst_bodies(city).items():
        r = await client.post("/v1/alarms", content=body, headers={**token(), **headers})
        assert r.status_code == status, (name, r.status_code, r.text[:300])
        assert r.headers["content-type"] == PROBLEM_JSON, name
        assert len(r.content) < 8 * 1024, (name, len(r.content))  # never the input echoed back at length
        if status == 422:
            assert len(r.json()["errors"]) <= MAX_REPORTED_ERRORS, name
    assert (await client.get("/v1/alarms", headers=token())).status_code == 200  # and nothing was half-written


async def test_an_unbounded_chunked_body_is_cut_off_at_the_limit(client, token):
    sent = 0

    async def endless():
        nonlocal sent
        while sent < 50 * DEFAULT_MAX_BODY_BYTES:  # bounded here; the service stops reading far sooner
            sent += 4096
            yield b" " * 4096

    r = await client.post("/v1/alarms", content=endless(), headers={**token(), **JSON})
    assert r.status_code == 413 and r.json()["max_bytes"] == DEFAULT_MAX_BODY_BYTES
    assert sent <= DEFAULT_MAX_BODY_BYTES + 2 * 4096  # it read no more than the limit (and what was in flight)


@pytest.mark.parametrize("field", ["description", "address", "call_id"])
async def test_a_nul_character_in_a_call_is_a_400_and_the_clean_retry_is_taken(client, token, city, field):
    """PostgreSQL text holds no NUL: one had answered 500, for the call and for every retry of it."""
    lat, lon, _ = a_point(city, 40)
    clean = call(lat, lon) | {"call_id": f"nul-{field}-{os.urandom(4).hex()}"}
    nul = json.loads(json.dumps(clean))
    if field == "address":
        nul["location"]["address"] = "某小区\x003幢"
    else:
        nul[field] += "\x00"
    r = await client.post("/v1/alarms", content=json.dumps(nul), headers={**token(), **JSON})  # NUL as \u0000
    assert r.status_code == 400 and r.json()["type"].endswith("/nul-character"), r.text
    assert (await client.post("/v1/alarms", json=clean, headers=token())).status_code == 201


async def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(client, token, city):
    lat, lon, _ = a_point(city, 41)
    r = await client.post("/v1/alarms", json=call(lat, lon) | {"description": "C:\\u0000 路径"}, headers=token())
    assert r.status_code == 201 and r.json()["description"] == "C:\\u0000 路径"


@pytest.mark.parametrize("content_type", ["application/vnd.linkduty+json", "application/x-www-form-urlencoded"])
async def test_a_nul_in_any_json_or_form_body_is_a_400(client, token, content_type):
    """FastAPI parses application/<anything>+json as JSON too; a form decodes %00 to NUL."""
    body = b'{"reason": "a\\u0000b"}' if content_type.endswith("json") else b"reason=a%00b"
    r = await client.post("/v1/alarms", content=body, headers={**token(), "content-type": content_type})
    assert r.status_code == 400 and r.json()["type"].endswith("/nul-character"), r.text


@pytest.mark.parametrize("path", ["/v1/alarms/abc%00def", "/v1/alarms?limit=5%00", "/v1/alarms?open=%00"])
async def test_a_nul_in_the_path_or_query_is_a_400(client, token, path):
    r = await client.get(path, headers=token())
    assert r.status_code == 400 and r.json()["type"].endswith("/nul-character"), r.text


@pytest.mark.parametrize("version", ["2147483648", "99999999999999999999"])
async def test_a_version_past_postgresql_integers_is_a_422(client, token, city, version):
    lat, lon, _ = a_point(city, 42)
    alarm = (await client.post("/v1/alarms", json=call(lat, lon), headers=token())).json()
    r = await client.get(f"/v1/alarms/{alarm['alarm_id']}?version={version}", headers=token())
    assert r.status_code == 422, r.text
    verify = await client.post(f"/v1/alarms/{alarm['alarm_id']}/verification",
                               headers={**token(), "If-Match": f'"{version}"'})
    assert verify.status_code == 400 and verify.json()["type"].endswith("/bad-if-match")


@pytest.fixture
async def served(alarms_settings, tmp_path):
    fields = ("service_name", "pg_dsn", "kafka_bootstrap", "auth_jwks_file", "auth_issuer",
              "events_topic", "commands_topic", "units_topic")
    async with serve("alarms.main", alarms_settings, fields, tmp_path) as client:
        yield client


async def test_healthz_answers_within_100_ms_while_the_worst_bodies_arrive(served, token, city):
    bodies = list(worst_bodies(city).values())
    auth = token()

    # Warm: the first request of a process compiles its validators, and the first of a client opens
    # its connections; what is measured is the loop under attack, not a cold start.
    lat, lon, _ = a_point(city)
    await asyncio.gather(served.post("/v1/alarms", json=call(lat, lon, description="warm-up"), headers=auth),
                         served.get("/healthz"))

    async def attack() -> None:
        for _ in range(30):  # long enough for some dozens of probes (each round is ~10 ms since the NUL check is cheap)
            for body, headers, status in bodies:
                try:
                    r = await served.post("/v1/alarms", content=body, headers={**auth, **headers})
                    assert r.status_code == status
                except httpx.WriteError:  # refused by its Content-Length while the rest was on its way
                    assert status == 413

    delays = await healthz_delays_while(served, attack)
    assert len(delays) > 20 and max(delays) < 0.1, (len(delays), sorted(delays)[-5:])
