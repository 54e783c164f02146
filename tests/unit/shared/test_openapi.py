"""Every route documents what the shared stack can answer for it (shared/api/openapi.py)."""

from typing import Annotated

from fastapi import APIRouter, FastAPI, Header

from linkduty_shared.api.openapi import EVERY_OPERATION, document_shared_answers, problem_responses


def documented(app: FastAPI, path: str, method: str) -> set[int]:
    return {int(s) for s in app.openapi()["paths"][path][method]["responses"]}


def test_statuses_follow_from_the_shape_of_each_route():
    router = APIRouter()

    @router.get("/things")
    async def list_things() -> dict:
        return {}

    @router.post("/things/{thing_id}/closure", responses=problem_responses(415))
    async def close(thing_id: str, if_match: Annotated[str | None, Header()] = None) -> dict:
        return {}

    app = FastAPI()
    app.include_router(document_shared_answers(router))
    assert documented(app, "/things", "get") == {200, *EVERY_OPERATION}
    assert documented(app, "/things/{thing_id}/closure", "post") == {200, 404, 409, 412, 415, *EVERY_OPERATION}
    problem = app.openapi()["paths"]["/things"]["get"]["responses"]["401"]
    assert list(problem["content"]) == ["application/problem+json"]
