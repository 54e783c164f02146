"""Volunteer service teams (志愿服务队) under a community or a street, with a leader.

Who: `volunteers:review` (the community or street that vets volunteers) forms teams and changes
their members; `volunteers:read` reads them in its jurisdiction."""

from __future__ import annotations


from fastapi import APIRouter, Request, Response

from linkduty_shared.api.answers import versioned
from linkduty_shared.api.deps import Context
from linkduty_shared.api.openapi import problem_responses

from volunteers.api.schemas import LeaderIn, MemberIn, TeamIn, TeamOut
from volunteers.api.volunteers import Reader, Reviewer, service_of
from volunteers.domain.volunteer import Team

router = APIRouter(prefix="/v1", tags=["teams"])


def team_view(team: Team) -> dict:
    f = team.formed
    return {"team_id": team.id, "name": f.name, "division": f.division, "jurisdiction": f.jurisdiction,
            "leader_id": team.leader_id, "members": list(team.members), "version": team.version}


def _answer(response: Response, team: Team, status: int | None = None) -> dict:
    return versioned(response, team_view(team), team.version, status=status, location=f"/v1/teams/{team.id}")


@router.post("/teams", status_code=201, response_model=TeamOut, responses=problem_responses(404),
             summary="Form a team under a community or a street, led by an approved volunteer")
async def form(body: TeamIn, request: Request, response: Response, principal: Reviewer, ctx: Context) -> dict:
    """404 for a leader not found in the caller's jurisdiction; 409 for one not approved; 422 for
    a division that is no community or street."""
    team = await service_of(request).form_team(body.name, body.division, body.leader_id, ctx, principal)
    return _answer(response, team, 201)


@router.get("/teams/{team_id}", response_model=TeamOut, summary="A team and its members")
async def read(team_id: str, request: Request, response: Response, principal: Reader) -> dict:
    return _answer(response, await service_of(request).teams.get(team_id, visible_to=principal))


@router.post("/teams/{team_id}/members", response_model=TeamOut, summary="Add an approved volunteer")
async def add(team_id: str, body: MemberIn, request: Request, response: Response, principal: Reviewer,
              ctx: Context) -> dict:
    return _answer(response, await service_of(request).change_team(team_id, "add", body.volunteer_id, ctx, principal))


@router.delete("/teams/{team_id}/members/{volunteer_id}", response_model=TeamOut,
               summary="Take a volunteer off the team (not its leader)")
async def remove(team_id: str, volunteer_id: str, request: Request, response: Response, principal: Reviewer,
                 ctx: Context) -> dict:
    return _answer(response, await service_of(request).change_team(team_id, "remove", volunteer_id, ctx, principal))


@router.put("/teams/{team_id}/leader", response_model=TeamOut, summary="Name another member the team's leader")
async def lead(team_id: str, body: LeaderIn, request: Request, response: Response, principal: Reviewer,
               ctx: Context) -> dict:
    return _answer(response, await service_of(request).change_team(team_id, "lead", body.volunteer_id, ctx, principal))
