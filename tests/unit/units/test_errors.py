"""The units' refusals as clients see them: each domain error is one stable problem type, status
and title (mapped in one place, linkduty_shared.api.problems), with the members it carries."""

import httpx
import pytest
from fastapi import FastAPI

from linkduty_shared.api.problems import PROBLEM_BASE, PROBLEM_JSON, install_problem_handlers

from units.application.errors import AlreadyRegistered, FindingOutsidePatrolArea, UnknownDivision, UnknownForce

REFUSALS = {
    "unknown-division": (UnknownDivision("999 is no division of 云溪市"), 422, "Unknown division", {}),
    "unknown-force": (UnknownForce(["squad-x", "team-y"]), 422, "Unknown force", {"unknown": ["squad-x", "team-y"]}),
    "already-registered": (AlreadyRegistered("unit u1 exists"), 409, "Unit already registered", {}),
    "finding-outside-patrol-area": (FindingOutsidePatrolArea("(30.1, 120.1) is not in 330102001001"), 422,
                                    "The finding lies outside the patrol's division", {}),
}


@pytest.fixture
async def client():
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/refuse/{slug}")
    async def refuse(slug: str) -> dict:
        raise REFUSALS[slug][0]

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://units") as c:
        yield c


@pytest.mark.parametrize("slug", sorted(REFUSALS))
async def test_each_refusal_is_its_own_problem_type(client, slug):
    error, status, title, extra = REFUSALS[slug]
    r = await client.get(f"/refuse/{slug}")
    assert r.status_code == status and r.headers["content-type"] == PROBLEM_JSON
    assert r.json() == {"type": PROBLEM_BASE + slug, "title": title, "status": status, "instance": f"/refuse/{slug}",
                        "detail": str(error), **extra}


def test_unknown_forces_are_named_in_the_detail_and_listed_apart():
    error = UnknownForce(["squad-x"])
    assert str(error) == "no registered force squad-x inside your jurisdiction" and error.extra == {"unknown": ["squad-x"]}
