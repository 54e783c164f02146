"""Photo uploads and who may see them (`hazards.photos` says how a photo lives)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

import asyncpg

from linkduty_shared.application import AggregateNotFound
from linkduty_shared.auth import Principal
from linkduty_shared.domain import DomainError
from linkduty_shared.ids import time_ordered_uuid
from linkduty_shared.objects import ObjectMissing, ObjectStore

from hazards import images, photos

log = logging.getLogger(__name__)


class UnknownPhotos(DomainError):
    type_slug, status, title = "unknown-photo", 422, "Photos not uploaded by you, or attached already"

    def __init__(self, photo_ids: list[str]) -> None:
        super().__init__("upload each photo first (POST /v1/photos), with the same token, and attach it once",
                         extra={"photo_ids": [p[:64] for p in photo_ids]})


class TooFewPhotos(DomainError):
    type_slug, status, title = "photos-required", 422, "A snapshot report needs a photo"


class PhotoBusy(DomainError):
    type_slug, status, title = "photo-uploads-busy", 503, "Too many photos being processed; retry shortly"
    headers = {"Retry-After": "2"}


class PhotosService:
    def __init__(self, pool: asyncpg.Pool, objects: ObjectStore, *, limits: images.PhotoLimits,
                 concurrency: int, clock: Callable[[], dt.datetime], queue_wait_s: float = 10.0) -> None:
        self.pool, self.objects, self.limits, self.clock = pool, objects, limits, clock
        # Decoding a photo takes a worker thread and up to ~200 MB at the pixel limit: a bounded
        # number at once, the rest wait their turn (then 503 with Retry-After, not an unbounded queue).
        self._slots, self.concurrency = asyncio.Semaphore(concurrency), concurrency
        self.queue_wait_s = queue_wait_s

    async def upload(self, data: bytes, principal: Principal) -> asyncpg.Record:
        """The photo these bytes become, stripped and thumbnailed; the same one again for a retry."""
        try:
            await asyncio.wait_for(self._slots.acquire(), self.queue_wait_s)
        except TimeoutError:
            raise PhotoBusy(f"at most {self.concurrency} photos are decoded at once") from None
        try:
            processed = await asyncio.to_thread(images.process, data, self.limits)
        finally:
            self._slots.release()
        async with self.pool.acquire() as conn:
            if (row := await photos.pending_upload(conn, principal.client_id, processed.original_sha256)) is not None:
                return row
        photo_id = time_ordered_uuid()
        # Objects first, then the row: a crash between leaves bytes nobody names (harmless), never
        # a row whose bytes are missing.
        await self.objects.put(photos.stored_key(str(photo_id)), processed.data)
        await self.objects.put(photos.thumbnail_key(str(photo_id)), processed.thumbnail)
        async with self.pool.acquire() as conn:
            row = await photos.record(conn, photo_id=photo_id, uploader=principal.client_id,
                                      original_sha256=processed.original_sha256, sha256=processed.sha256,
                                      media_type=processed.media_type, width=processed.width,
                                      height=processed.height, size=len(processed.data), at=self.clock())
        if row["photo_id"] != photo_id:  # a concurrent retry recorded its copy first
            await self.delete_objects([str(photo_id)])
        return row

    async def content(self, row: asyncpg.Record, *, thumbnail: bool) -> tuple[bytes, str]:
        """The bytes and media type of a photo row the caller may see."""
        photo_id = str(row["photo_id"])
        try:
            if thumbnail:
                return await self.objects.get(photos.thumbnail_key(photo_id)), "image/jpeg"
            return await self.objects.get(photos.stored_key(photo_id)), row["media_type"]
        except ObjectMissing:
            log.error("photo %s is recorded but missing from the object store (%s)", photo_id,
                      self.objects.description)
            raise AggregateNotFound(photo_id) from None

    async def own_upload(self, photo_id: str, principal: Principal) -> asyncpg.Record:
        async with self.pool.acquire() as conn:
            row = await photos.uploaded_by(conn, principal.client_id, photo_id)
        if row is None:
            raise AggregateNotFound(photo_id[:64])
        return row

    async def of_hazard(self, hazard_id: str, photo_id: str) -> asyncpg.Record:
        """A photo of this hazard (the caller has been shown the hazard already)."""
        async with self.pool.acquire() as conn:
            row = await photos.of_hazard(conn, hazard_id, photo_id)
        if row is None:
            raise AggregateNotFound(photo_id[:64])
        return row

    async def delete_objects(self, photo_ids: list[str]) -> None:
        for photo_id in photo_ids:
            await self.objects.delete(photos.stored_key(photo_id))
            await self.objects.delete(photos.thumbnail_key(photo_id))

    async def drop_unattached(self, older_than: dt.timedelta, limit: int = 500) -> int:
        """Photos uploaded but never attached to a report: their rows, then their bytes."""
        async with self.pool.acquire() as conn:
            dropped = await photos.take_unattached(conn, self.clock() - older_than, limit)
        await self.delete_objects(dropped)
        return len(dropped)
