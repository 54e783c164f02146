"""Open311 GeoReport v2 (JSON) over the same hazards: what a 12345 hotline or a citizen app
that speaks Open311 (FixMyStreet's, for one) sends and reads. The whole mapping lives here:
a service is a hazard category, a service request is a hazard. Writes go through
`HazardsService.report` (the one intake), reads through the `hazard_list` read model and
`HazardsService.read` (the same visibility as /v1). README.md, "Open311", has the decisions.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime, ValidationError

from linkduty_shared.api.deps import Authenticated, Context
from linkduty_shared.api.openapi import problem_responses
from linkduty_shared.api.problems import Problem

from hazards import photos
from hazards.api.deps import Reader, Reporter, Service
from hazards.api.open311_schemas import Open311Created, Open311Request, Open311RequestIn, Open311Service
from hazards.application import HazardsService, ReportHazard
from hazards.application.errors import UnknownCategory
from hazards.domain.categories import Category
from hazards.domain.values import OPEN_STATUSES, Source, Status
from hazards.projections.hazard_list import LEVELS, hazards_by_id, list_hazards

router = APIRouter(prefix="/open311/v2", tags=["Open311 GeoReport v2"])

FORM, JSON = "application/x-www-form-urlencoded", "application/json"
MAX_FORM_BYTES = 48 * 1024  # 4,000 Chinese characters percent-encoded are 36,000 bytes
MAX_FORM_FIELDS = 64  # GeoReport's 15 parameters and a few attribute[…]s
MAX_RESULTS = 1000  # GeoReport v2: "a span of 90 days or first 1000 requests returned, whichever is smallest"
DEFAULT_WINDOW = dt.timedelta(days=90)
MAX_LISTED = 100  # codes or ids in one comma-separated filter
CODE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
OPEN = sorted(s.value for s in OPEN_STATUSES)
CLOSED = sorted(s.value for s in set(Status) - OPEN_STATUSES)
# A media_url that names a photo uploaded here (POST /v1/photos answers its url): attached, not fetched.
OWN_PHOTO = re.compile(r"^(?:https?://(?P<host>[^/?#]+))?/v1/photos/(?P<id>[0-9a-fA-F-]{32,36})$")

Lang = Literal["zh", "en"]
GROUP = {"zh": "消防安全隐患", "en": "Fire hazards"}
STATUS_NAMES = {
    "zh": {"reported": "待受理", "accepted": "已受理，待派单", "rectifying": "整改中",
           "awaiting_verification": "已整改，待复查", "rejected": "不予受理", "merged": "已合并至 {into}",
           "closed": "复查通过，待回头看", "confirmed": "回头看通过，已闭环"},
    "en": {"reported": "reported, awaiting triage", "accepted": "accepted, to be assigned",
           "rectifying": "being rectified", "awaiting_verification": "rectified, awaiting verification",
           "rejected": "rejected", "merged": "merged into {into}", "closed": "verified fixed, re-inspection due",
           "confirmed": "re-inspected: still fixed"},
}
NOTICES = {
    "zh": {"triage": "由{centre}受理，受理时限 {due}。",
           "media": "media_url 未采用：请先上传照片（POST /v1/photos），再传其 url。",
           "address_id": "address_id 未采用。", "attributes": "attribute[…] 未采用（各服务无属性）。"},
    "en": {"triage": "{centre} will triage it by {due}.",
           "media": "media_url not used: upload the photo first (POST /v1/photos) and send its url.",
           "address_id": "address_id not used.", "attributes": "attribute[…] not used (no service defines any)."},
}


def body_limits() -> dict[str, int]:
    """What `create_app` lets through by Content-Type: forms are only this router's."""
    return {FORM: MAX_FORM_BYTES}


def language(locale: Lang | None, accept_language: str | None) -> Lang:
    """The names' language: `locale`, else the first of zh and en that Accept-Language names, else zh (the city's)."""
    if locale:
        return locale
    for part in (accept_language or "")[:500].split(",")[:20]:
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh"
    return "zh"


Locale = Annotated[Lang | None, Query(description="zh or en; else the first of them Accept-Language names; else zh")]


def _jurisdiction(service: HazardsService, jurisdiction_id: str | None) -> None:
    """One city per deployment: a jurisdiction_id, if sent, must be its code (GeoReport's 404 otherwise)."""
    if jurisdiction_id and jurisdiction_id != service.directory.city.code:
        city = service.directory.city.code
        raise Problem(404, "unknown-jurisdiction", "No such jurisdiction here", f"this endpoint serves {city} only",
                      jurisdiction_id=city)


JurisdictionId = Annotated[str | None, Query(max_length=64, description="the city's division code (optional)")]


# ---- services -------------------------------------------------------------------------------------

def _name(category: Category, lang: Lang) -> str:
    return category.name_zh if lang == "zh" else category.name_en


@router.get("/services.json", response_model=list[Open311Service], responses=problem_responses(404),
            summary="GeoReport v2 services: the hazard categories")
async def services(request: Request, service: Service, _: Authenticated, jurisdiction_id: JurisdictionId = None,
                   locale: Locale = None) -> list:
    _jurisdiction(service, jurisdiction_id)
    lang = language(locale, request.headers.get("accept-language"))
    other: Lang = "en" if lang == "zh" else "zh"
    return [{"service_code": c.id, "service_name": _name(c, lang), "description": _name(c, other), "metadata": False,
             "type": "realtime", "keywords": c.id.replace("_", ","), "group": GROUP[lang]}
            for c in service.taxonomy.categories.values()]


# ---- a new request --------------------------------------------------------------------------------

async def _parameters(request: Request) -> tuple[dict, int]:
    """The form's (or JSON object's) parameters, each once, and how many attribute[…] it had."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == FORM:
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)  # too many: 400 (starlette)
        pairs = list(form.multi_items())
    elif media_type == JSON:
        try:
            data = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            raise Problem(400, "malformed-json", "Request body is not valid JSON") from None
        if not isinstance(data, dict) or len(data) > MAX_FORM_FIELDS:
            raise Problem(400, "bad-request", "Send one JSON object of GeoReport parameters",
                          f"at most {MAX_FORM_FIELDS} of them")
        attribute = data.pop("attribute", None)
        pairs = list(data.items()) + [(f"attribute[{k}]", v) for k, v in (
            attribute.items() if isinstance(attribute, dict) else [])]
    else:
        raise Problem(415, "unsupported-media-type", f"Send the request as {FORM} (or {JSON})",
                      f"Content-Type {media_type[:100]!r} is neither")
    fields, attributes = {}, 0
    for name, value in pairs:
        if name.startswith("attribute["):
            attributes += 1
            continue
        if name in fields:
            raise Problem(400, "repeated-parameter", "A parameter was sent twice", f"{name[:64]!r}: send it once")
        if value is not None and not (isinstance(value, str) and not value.strip()):
            fields[name] = value  # an empty field is one not sent (forms send them so)
    return fields, attributes


def _photo_of(media_url: str | None, request: Request) -> tuple[tuple[str, ...], bool]:
    """The photo a media_url names if it is one uploaded here, as (photo ids, whether it was left unused).
    No URL is ever fetched: a server that fetched what a client names could be made to reach anything."""
    if not media_url:
        return (), False
    match = OWN_PHOTO.match(media_url)
    if match and match["host"] in (None, request.headers.get("host")):
        return (match["id"],), False
    return (), True


@router.post("/requests.json", status_code=201, response_model=list[Open311Created],
             summary="GeoReport v2: report a hazard (a form, or JSON)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 FORM: {"schema": Open311RequestIn.model_json_schema()},
                 JSON: {"schema": Open311RequestIn.model_json_schema()}}}},
             responses=problem_responses(404, 415))
async def post_request(request: Request, response: Response, service: Service, principal: Reporter,
                       ctx: Context, locale: Locale = None) -> list:
    """201 with `[{service_request_id, service_notice, account_id}]`: a hazard reported from the
    hotline (source `hotline`). 400 without lat and long (an address alone is not geocoded here),
    422 for an unknown service_code or a point outside the city, 403 outside the caller's jurisdiction."""
    fields, attributes = await _parameters(request)
    try:
        body = Open311RequestIn.model_validate(fields)
    except ValidationError as exc:
        raise RequestValidationError([e | {"loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    _jurisdiction(service, body.jurisdiction_id)
    if body.lat is None or body.long is None:
        raise Problem(400, "location-required", "lat and long are required",
                      "send the point (WGS84 lat and long): an address alone (address_string, address_id) "
                      "is not geocoded here")
    lang = language(locale, request.headers.get("accept-language"))
    photo_ids, media_unused = _photo_of(body.media_url, request)
    category = service.taxonomy.categories.get(body.service_code)
    name = " ".join(n for n in (body.first_name, body.last_name) if n) or None
    cmd = ReportHazard(
        category=body.service_code, description=body.description or (category.name_zh if category else "-"),
        lat=body.lat, lon=body.long, source=Source.HOTLINE, address=body.address_string, reporter_phone=body.phone,
        reporter_name=name, photo_ids=photo_ids,
        reporter_other=tuple((k, v) for k, v in (("email", body.email), ("account_id", body.account_id),
                                                 ("device_id", body.device_id)) if v))
    hazard = (await service.report(cmd, ctx, principal)).hazard
    notices = NOTICES[lang]
    notice = [notices["triage"].format(centre=service.handler(hazard).name, due=hazard.triage_due_at)]
    notice += [notices[k] for k, unused in (("media", media_unused), ("address_id", body.address_id),
                                            ("attributes", attributes)) if unused]
    response.headers["Location"] = f"{router.prefix}/requests/{hazard.id}.json"
    return [{"service_request_id": hazard.id, "service_notice": " ".join(notice), "account_id": None}]


# ---- reading requests -----------------------------------------------------------------------------

def _iso(at: dt.datetime | None) -> str | None:
    return at.astimezone(dt.UTC).isoformat() if at else None


def request_view(service: HazardsService, row, *, lang: Lang, base_url: str, photo_id: str | None) -> dict:
    """A `hazard_list` row as a GeoReport v2 service request (the one mapping of both reads)."""
    status = row["status"]
    category = service.taxonomy.categories.get(row["category"])
    label = STATUS_NAMES[lang][status].format(into=row["merged_into"])
    expected = {"reported": row["triage_due_at"], "rectifying": row["rectification_due_at"]}.get(status)
    return {
        "service_request_id": row["hazard_id"], "status": "open" if status in OPEN else "closed",
        "status_notes": f"{label}: {row['status_note']}" if row["status_note"] else label,
        "service_name": _name(category, lang) if category else row["category"], "service_code": row["category"],
        "description": row["description"],
        "agency_responsible": service.directory.centre_of(row[row["handling_level"]]).name,
        "service_notice": None, "requested_datetime": _iso(row["reported_at"]),
        "updated_datetime": _iso(row["updated_at"] or row["reported_at"]), "expected_datetime": _iso(expected),
        "address": row["address"], "address_id": None, "zipcode": None, "lat": row["lat"], "long": row["lon"],
        "media_url": f"{base_url}/v1/hazards/{row['hazard_id']}/photos/{photo_id}" if photo_id else None,
    }


async def _views(service: HazardsService, request: Request, rows: list, lang: Lang) -> list[dict]:
    async with service.store.pool.acquire() as conn:
        shown = await photos.report_photos(conn, [r["hazard_id"] for r in rows]) if rows else {}
    base_url = str(request.base_url).rstrip("/")
    return [request_view(service, r, lang=lang, base_url=base_url, photo_id=shown.get(r["hazard_id"])) for r in rows]


def _listed(value: str | None, what: str) -> list[str] | None:
    """A comma-separated filter (GeoReport's way of naming several), each item checked."""
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items or len(items) > MAX_LISTED or not all(CODE.match(v) for v in items):
        raise Problem(422, "validation-failed", "Request failed validation",
                      f"{what}: 1 to {MAX_LISTED} comma-separated ids of letters, digits, _ . : -")
    return list(dict.fromkeys(items))


def _window(start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[start, end] in UTC: end defaults to now, start to 90 days before end."""
    try:
        end = end.astimezone(dt.UTC) if end else now
        start = start.astimezone(dt.UTC) if start else end - DEFAULT_WINDOW
        end_exclusive = end + dt.timedelta(microseconds=1)
    except OverflowError:
        raise Problem(422, "time-out-of-range", "A date lies outside what can be asked for",
                      "start_date and end_date must lie within the years 1 to 9999 in UTC") from None
    if start > end:
        raise Problem(422, "bad-date-range", "start_date is after end_date")
    return start, end_exclusive


@router.get("/requests.json", response_model=list[Open311Request], responses=problem_responses(404),
            summary="GeoReport v2: service requests inside the caller's jurisdiction, newest first")
async def get_requests(
        request: Request, service: Service, principal: Reader, jurisdiction_id: JurisdictionId = None,
        service_request_id: Annotated[str | None, Query(
            max_length=MAX_LISTED * 65, description="comma separated; overrides every other filter")] = None,
        service_code: Annotated[str | None, Query(max_length=MAX_LISTED * 65, description="comma separated")] = None,
        start_date: Annotated[AwareDatetime | None, Query(description="requested at or after (w3c, offset)")] = None,
        end_date: Annotated[AwareDatetime | None, Query(description="requested at or before; default now")] = None,
        status: Annotated[str | None, Query(max_length=20, pattern=r"^(open|closed)(,(open|closed))?$")] = None,
        locale: Locale = None) -> list:
    """At most 1000, and by default those requested in the last 90 days."""
    _jurisdiction(service, jurisdiction_id)
    lang = language(locale, request.headers.get("accept-language"))
    ids = _listed(service_request_id, "service_request_id")
    async with service.store.pool.acquire() as conn:
        if ids is not None:
            rows = [r for r in await hazards_by_id(conn, ids) if principal.may_see(tuple(r[lv] for lv in LEVELS))]
        else:
            codes = _listed(service_code, "service_code")
            if codes is not None and (unknown := [c for c in codes if c not in service.taxonomy]):
                raise UnknownCategory(unknown[0], service.taxonomy.ids())
            wanted = set((status or "open,closed").split(","))
            statuses = None if wanted == {"open", "closed"} else OPEN if "open" in wanted else CLOSED
            start, end = _window(start_date, end_date, service.clock())
            rows = await list_hazards(conn, within=list(principal.jurisdiction), statuses=statuses, categories=codes,
                                      limit=MAX_RESULTS, after=(end, ""), since=start)
    return await _views(service, request, rows, lang)


@router.get("/requests/{service_request_id}.json", response_model=list[Open311Request],
            summary="GeoReport v2: one service request (an array of one)")
async def get_request(request: Request, service: Service, principal: Authenticated,
                      service_request_id: Annotated[str, Path(max_length=64)],
                      jurisdiction_id: JurisdictionId = None,
                      locale: Locale = None) -> list:
    """Seen as GET /v1/hazards/{id} sees it: `hazards:read` in its jurisdiction, or `hazards:report`
    for one's own report; anyone else gets 404, as for one that does not exist."""
    _jurisdiction(service, jurisdiction_id)
    await service.read(service_request_id, principal)  # 404 unless the caller may see it
    async with service.store.pool.acquire() as conn:
        rows = await hazards_by_id(conn, [service_request_id])
    if not rows:  # written inline with the events: only a hazard reported before the read model existed
        raise Problem(404, "not-found", "No such resource", f"{service_request_id} is not listed yet")
    return await _views(service, request, rows, language(locale, request.headers.get("accept-language")))
