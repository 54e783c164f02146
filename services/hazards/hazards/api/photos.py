"""Photo uploads (upload first, then report) and the photos of a hazard, for who may see it."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from linkduty_shared.api.deps import Authenticated
from linkduty_shared.api.problems import Problem
from linkduty_shared.auth import Principal

from hazards.api.deps import Service
from hazards.application.photos import PhotosService

router = APIRouter(prefix="/v1", tags=["photos"])
IMAGE_MEDIA_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic", "image/heif", "application/octet-stream")
MULTIPART = "multipart/form-data"
MULTIPART_OVERHEAD = 64 * 1024  # the form's boundaries and part headers, beside the photo itself


async def photos_service(request: Request) -> PhotosService:
    return request.app.state.photos


Photos = Annotated[PhotosService, Depends(photos_service)]


async def uploader(principal: Authenticated) -> Principal:
    """Who reports (`hazards:report`) or fixes (`hazards:rectify`) uploads photos."""
    if not {"hazards:report", "hazards:rectify"} & set(principal.scopes):
        principal.require("hazards:report")
    return principal


class PhotoOut(BaseModel):
    photo_id: str = Field(description="name it in a report's photo_ids (or a rectification's), once")
    sha256: str = Field(description="of the stored copy (metadata stripped), hex")
    media_type: str
    width: int
    height: int
    bytes: int
    url: str
    thumbnail_url: str


def photo_view(row, *, base: str) -> dict:
    url = f"{base}/{row['photo_id']}"
    return {"photo_id": str(row["photo_id"]), "sha256": row["sha256"], "media_type": row["media_type"],
            "width": row["width"], "height": row["height"], "bytes": row["bytes"], "url": url,
            "thumbnail_url": f"{url}?size=thumbnail"}


@router.post("/photos", status_code=201, response_model=PhotoOut, summary="Upload a photo (before the report)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 MULTIPART: {"schema": {"type": "object", "required": ["file"],
                                        "properties": {"file": {"type": "string", "format": "binary"}}}},
                 **{t: {"schema": {"type": "string", "format": "binary"}} for t in IMAGE_MEDIA_TYPES}}}},
             responses={415: {"description": "Not a JPEG, PNG, WebP or HEIC image (sniffed from the bytes)"}})
async def upload_photo(request: Request, photos: Photos, principal: Annotated[Principal, Depends(uploader)]) -> dict:
    """A photo as multipart (`file`) or as the raw body. Its type is sniffed from its bytes; its
    metadata (EXIF GPS, the phone's model) is stripped from what is stored; a thumbnail is made.
    Retry freely: the same bytes from the same caller answer the same photo (201 again). It is
    yours until a report or a rectification names it; one never named is deleted after a day."""
    data = await _photo_bytes(request)
    row = await photos.upload(data, principal)
    return photo_view(row, base="/v1/photos")


@router.get("/photos/{photo_id}", summary="A photo you uploaded", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}})
async def own_photo(photo_id: str, photos: Photos, principal: Authenticated,
                    size: Literal["full", "thumbnail"] = "full") -> Response:
    row = await photos.own_upload(photo_id, principal)
    return await _image(photos, row, size)


@router.get("/hazards/{hazard_id}/photos/{photo_id}", summary="A photo of a hazard you may see",
            response_class=Response, responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}})
async def hazard_photo(hazard_id: str, photo_id: str, service: Service, photos: Photos, principal: Authenticated,
                       size: Literal["full", "thumbnail"] = "full") -> Response:
    """Shown to whoever may read the hazard (a centre in its chain, one of its reporters); a
    photo of another hazard, or one never attached, is not found here."""
    await service.read(hazard_id, principal)  # 404 unless the caller may see the hazard
    row = await photos.of_hazard(hazard_id, photo_id)
    return await _image(photos, row, size)


async def _image(photos: PhotosService, row, size: str) -> Response:
    data, media_type = await photos.content(row, thumbnail=size == "thumbnail")
    tag = row["sha256"] if size == "full" else f"{row['sha256']}-thumbnail"
    # Private: a photo is for who may see its hazard; never a shared cache's to keep.
    return Response(data, media_type=media_type, headers={
        "ETag": f'"{tag}"', "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff",
        "Content-Disposition": "inline"})


async def _photo_bytes(request: Request) -> bytes:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    limit = request.app.state.photos.limits.max_bytes
    if media_type in IMAGE_MEDIA_TYPES:
        data = await request.body()
    elif media_type == MULTIPART:
        try:
            form = await request.form(max_files=1, max_fields=4, max_part_size=limit)
        except MultiPartException as exc:
            raise Problem(400, "bad-multipart", "Malformed multipart body", str(exc)[:200]) from None
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise Problem(422, "photo-missing", "No photo in the form", "send the photo as the part named 'file'")
            data = await upload.read(limit + 1)
        finally:
            await form.close()
    else:
        raise Problem(415, "unsupported-media-type", "Send the photo as multipart/form-data or as the raw image",
                      f"Content-Type {media_type[:100]!r} is neither {MULTIPART} nor one of {', '.join(IMAGE_MEDIA_TYPES)}")
    if not data:
        raise Problem(422, "photo-missing", "The photo is empty", "0 bytes were sent")
    if len(data) > limit:
        raise Problem(413, "payload-too-large", "Photo too large", f"at most {limit} bytes", max_bytes=limit)
    return data


def body_limits(max_photo_bytes: int) -> dict[str, int]:
    """What `create_app` lets through to this router, by Content-Type (every other body: the service's default)."""
    return dict.fromkeys(IMAGE_MEDIA_TYPES, max_photo_bytes) | {MULTIPART: max_photo_bytes + MULTIPART_OVERHEAD}
