"""Volunteers' files (档案) and their background review (审核 → 审批), insurance, and erasure.

Who: `volunteers:apply` applies (a resident's app, or community staff for them);
`volunteers:read` reads the files in its jurisdiction (masked); `volunteers:review` reviews and
records insurance, and reads a person's own data (`…/person`); `volunteers:erase` shreds it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from linkduty_shared.api.answers import json_row, versioned
from linkduty_shared.api.cursors import MAX_CURSOR, decode_cursor, next_cursor
from linkduty_shared.api.deps import Authenticated, Context, require_scopes
from linkduty_shared.api.etag import parse_if_match
from linkduty_shared.api.openapi import problem_responses
from linkduty_shared.api.problems import Problem
from linkduty_shared.auth import Principal

from volunteers.api.schemas import (
    ApplicationIn,
    ApprovalIn,
    CourseResultIn,
    CorrectionIn,
    CoursesOut,
    FitnessCheckIn,
    FitnessOut,
    GradesOut,
    HoursOut,
    PersonOut,
    PolicyIn,
    RejectionIn,
    ServiceDomainsOut,
    VolunteerOut,
    VolunteerPage,
)
from volunteers.application import VolunteersService
from volunteers.application.service import Application
from volunteers.domain.volunteer import Policy, ReviewStatus, Volunteer
from volunteers.projections.volunteer_list import FIRST_PAGE, list_volunteers

router = APIRouter(prefix="/v1", tags=["volunteers"])
Applicant = Annotated[Principal, require_scopes("volunteers:apply")]
Reader = Annotated[Principal, require_scopes("volunteers:read")]
Reviewer = Annotated[Principal, require_scopes("volunteers:review")]
Trainer = Annotated[Principal, require_scopes("volunteers:train")]
Eraser = Annotated[Principal, require_scopes("volunteers:erase")]
MAX_PAGE = 200


def service_of(request: Request) -> VolunteersService:
    return request.app.state.volunteers


def view(service: VolunteersService, v: Volunteer) -> dict:
    a, today = v.applied, service.clock().date()
    return {
        "volunteer_id": v.id, "status": v.status.value, "name": a.name_masked, "id_number": a.id_number_masked,
        "phone": a.phone_masked, "domains": list(a.domains), "home_community": a.home_community,
        "jurisdiction": a.jurisdiction, "availability": list(a.availability), "review": v.history,
        "policies": [vars(p) for p in v.policies],
        "courses": [{"course_id": r.course_id, "passed": r.passed, "score": r.score, "exam_on": r.exam_on,
                     "certificate_until": r.certificate_until} for r in v.results.values()],
        "on_duty_roll": v.on_duty_roll(today),
        "missing_for_duty": v.missing_for_duty(today),
        "grade": v.grade_on(service.grades).id if v.status is ReviewStatus.APPROVED else None, "hours": v.hours,
        "stars": v.stars, "personal_data_erased": v.erased, "version": v.version,
    }


def _answer(response: Response, service: VolunteersService, v: Volunteer, status: int | None = None) -> dict:
    return versioned(response, view(service, v), v.version, status=status, location=f"/v1/volunteers/{v.id}")


@router.get("/service-domains", response_model=ServiceDomainsOut, summary="The service domains volunteers serve in")
async def service_domains(request: Request, _: Authenticated) -> dict:
    domains = service_of(request).domains
    return {"version": domains.version, "domains": [vars(d) for d in domains.domains]}


@router.post("/volunteers", status_code=201, response_model=VolunteerOut,
             summary="Apply to volunteer: the file opens, its review waits")
async def apply(body: ApplicationIn, request: Request, response: Response, principal: Applicant, ctx: Context) -> dict:
    """422 for an unknown service domain or a home that is no community; 403 for a community
    outside the caller's jurisdiction."""
    service = service_of(request)
    volunteer = await service.apply(Application(body.name, body.id_number, body.phone, tuple(body.domains),
                                                body.home_community, tuple(body.availability)), ctx, principal)
    return _answer(response, service, volunteer, 201)


@router.get("/volunteers", response_model=VolunteerPage, responses=problem_responses(400),
            summary="Volunteers in the caller's jurisdiction, newest applications first")
async def list_(request: Request, principal: Reader,
                status: Annotated[str | None, Query(pattern=r"^(submitted|under_review|approved|rejected)$")] = None,
                domain: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
                limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
                cursor: Annotated[str | None, Query(min_length=1, max_length=MAX_CURSOR)] = None) -> dict:
    service = service_of(request)
    async with service.store.pool.acquire() as conn:
        rows = await list_volunteers(conn, within=principal.jurisdiction, limit=limit, status=status, domain=domain,
                                     after=decode_cursor(cursor) if cursor else FIRST_PAGE)
    # the response model keeps VolunteerRow's fields only
    return {"volunteers": [json_row(r) for r in rows],
            "next_cursor": next_cursor(rows, limit, "applied_at", "volunteer_id")}


@router.get("/volunteers/{volunteer_id}", response_model=VolunteerOut, summary="A volunteer's file (masked)")
async def read(volunteer_id: str, request: Request, response: Response, principal: Reader) -> dict:
    service = service_of(request)
    return _answer(response, service, await service.repo.get(volunteer_id, visible_to=principal))


@router.get("/volunteers/{volunteer_id}/person", response_model=PersonOut, responses=problem_responses(404),
            summary="The person behind a file, for the reviewer (name, ID number, phone)")
async def person(volunteer_id: str, request: Request, principal: Reviewer) -> dict:
    service = service_of(request)
    revealed = await service.person(await service.repo.get(volunteer_id, visible_to=principal))
    if revealed is None:
        raise Problem(404, "personal-data-erased", "This person's data was erased", volunteer_id[:64])
    return revealed


async def _review(step: str, volunteer_id: str, request: Request, response: Response, principal: Principal,
                  ctx, *, reason: str | None = None, note: str | None = None) -> dict:
    service = service_of(request)
    volunteer = await service.review(volunteer_id, step, ctx, principal, reason=reason, note=note,
                                     expected_version=parse_if_match(request.headers.get("if-match")))
    return _answer(response, service, volunteer)


@router.post("/volunteers/{volunteer_id}/review", response_model=VolunteerOut,
             summary="Take up the background review (审核)")
async def start_review(volunteer_id: str, request: Request, response: Response, principal: Reviewer,
                       ctx: Context) -> dict:
    """409 unless the application is submitted."""
    return await _review("start", volunteer_id, request, response, principal, ctx)


@router.post("/volunteers/{volunteer_id}/approval", response_model=VolunteerOut,
             summary="The review passed (审批加入)")
async def approve(volunteer_id: str, body: ApprovalIn, request: Request, response: Response, principal: Reviewer,
                  ctx: Context) -> dict:
    """409 unless the review is under way."""
    return await _review("approve", volunteer_id, request, response, principal, ctx, note=body.note)


@router.post("/volunteers/{volunteer_id}/rejection", response_model=VolunteerOut,
             summary="The review failed, with the reason the applicant is told")
async def reject(volunteer_id: str, body: RejectionIn, request: Request, response: Response, principal: Reviewer,
                 ctx: Context) -> dict:
    """409 unless the review is under way."""
    return await _review("reject", volunteer_id, request, response, principal, ctx, reason=body.reason)


@router.post("/volunteers/{volunteer_id}/insurance", response_model=VolunteerOut,
             summary="Record an insurance policy (a renewal is another): on duty only while one is in force")
async def insure(volunteer_id: str, body: PolicyIn, request: Request, response: Response, principal: Reviewer,
                 ctx: Context) -> dict:
    """409 unless approved; 422 for a policy ending before it starts or longer than three years."""
    service = service_of(request)
    volunteer = await service.insure(volunteer_id, Policy(body.policy_number, body.insurer, body.valid_from,
                                                          body.valid_to), ctx, principal)
    return _answer(response, service, volunteer)


@router.get("/courses", response_model=CoursesOut, summary="Courses, and which each service domain requires")
async def courses(request: Request, _: Authenticated) -> dict:
    courses = service_of(request).courses
    return {"version": courses.version, "courses": [{**vars(c), "domains": list(c.domains)} for c in courses.courses]}


@router.post("/volunteers/{volunteer_id}/course-results", response_model=VolunteerOut,
             summary="Record an exam of a course: a pass certifies for the course's validity, a fail ends a pass")
async def course_result(volunteer_id: str, body: CourseResultIn, request: Request, response: Response,
                        principal: Trainer, ctx: Context) -> dict:
    """409 unless approved; 422 for an unknown course or an exam in the future."""
    service = service_of(request)
    volunteer = await service.record_result(volunteer_id, body.course_id, passed=body.passed, exam_on=body.exam_on,
                                            score=body.score, ctx=ctx, principal=principal)
    return _answer(response, service, volunteer)


@router.post("/volunteers/{volunteer_id}/fitness-checks", response_model=FitnessOut,
             responses=problem_responses(409),
             summary="The duty gate: may the volunteer serve in this domain today? (不培训不上岗)")
async def fitness(volunteer_id: str, body: FitnessCheckIn, request: Request, principal: Reader) -> dict:
    """200 when approved, insured and every required course of the domain passed with its
    certificate in date; otherwise 409 whose `missing` names each of those that is not."""
    await service_of(request).check_fitness(volunteer_id, body.domain, principal)
    return {"volunteer_id": volunteer_id, "domain": body.domain, "fit": True}


@router.delete("/volunteers/{volunteer_id}/personal-data", response_model=VolunteerOut, tags=["personal data"],
               summary="Erase the person (crypto-shredded in the vault): the file and its history stay")
async def erase(volunteer_id: str, request: Request, response: Response, principal: Eraser, ctx: Context) -> dict:
    service = service_of(request)
    return _answer(response, service, await service.erase_personal_data(volunteer_id, ctx, principal))



# ---- grades, the hour ledger, stars ------------------------------------------------------------

@router.get("/grades", response_model=GradesOut, summary="Grades and their rules, lowest first, and the stars' hours")
async def grades(request: Request, _: Authenticated) -> dict:
    g = service_of(request).grades
    return {"version": g.version, "grades": [{**vars(x), "courses": list(x.courses), "alert_places": list(x.alert_places)}
                                             for x in g.grades], "stars": [vars(s) for s in g.stars]}


@router.get("/volunteers/{volunteer_id}/hours", response_model=HoursOut,
            summary="The volunteer's hour ledger: append-only, corrections are entries of their own")
async def hours(volunteer_id: str, request: Request, principal: Reader) -> dict:
    v = await service_of(request).repo.get(volunteer_id, visible_to=principal)
    return {"volunteer_id": v.id, "total": v.hours, "entries": [vars(e) for e in v.ledger.values()]}


@router.post("/volunteers/{volunteer_id}/hour-corrections", response_model=VolunteerOut,
             summary="Correct an entry of the ledger with a new entry (never an edit)")
async def correct_hours(volunteer_id: str, body: CorrectionIn, request: Request, response: Response,
                        principal: Reviewer, ctx: Context) -> dict:
    """422 for an entry not in the ledger, a correction without a reason, or one that would take
    the ledger below zero."""
    service = service_of(request)
    volunteer = await service.correct_hours(volunteer_id, body.entry_id, body.hours, body.reason, ctx, principal)
    return _answer(response, service, volunteer)


@router.post("/volunteers/{volunteer_id}/grade-reviews", response_model=VolunteerOut,
             summary="Review the grade today: promoted or demoted by the rules, with the rule that decided")
async def grade_review(volunteer_id: str, request: Request, response: Response, principal: Reviewer,
                       ctx: Context) -> dict:
    service = service_of(request)
    return _answer(response, service, await service.regrade(volunteer_id, ctx, principal))

