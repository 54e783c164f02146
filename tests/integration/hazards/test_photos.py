"""Photos (issue 11 §2): upload first, sniffed, stripped of metadata, thumbnailed, hashed, kept in
the object store, shown only to who may see the hazard; hostile uploads a 4xx with nothing kept."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import struct
import zlib
from pathlib import Path

import httpx
import pytest
from PIL import Image

from hazards.bootstrap import build_app
from hazards.config import HazardsSettings
from linkduty_shared.jurisdictions import Level
from tests.integration.hazards.conftest import SERVED_FIELDS, a_point, assert_problem, image_bytes, report, upload
from tests.support.served import healthz_delays_while, served


def jpeg_with_gps() -> bytes:
    """A phone photo: GPS of the resident's home, the phone's model, rotated by its EXIF orientation."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "PhoneMaker", "PhoneModel X12", 6  # make, model, rotate 90°
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 5.5), 3: "E", 4: (121.0, 28.0, 9.1)}
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (180, 50, 50)).save(out, "JPEG", exif=exif, comment=b"IMG_2041 home")
    return out.getvalue()


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A few hundred bytes declaring 10^10 pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
            + chunk(b"IEND", b""))


async def photo_rows(hazards_app) -> int:
    async with hazards_app.state.runtime.pool.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM hazard_photos")


def stored_files(settings) -> list[Path]:
    return sorted(p for p in Path(settings.object_store_path).rglob("*") if p.is_file())


async def test_a_photo_with_gps_exif_is_stored_without_any_metadata_upright_and_hashed(client, resident):
    me = resident()
    photo = await upload(client, me, jpeg_with_gps())
    assert photo["media_type"] == "image/jpeg" and (photo["width"], photo["height"]) == (600, 800)  # turned upright
    stored = await client.get(photo["url"], headers=me)
    assert stored.status_code == 200 and stored.headers["content-type"] == "image/jpeg"
    assert hashlib.sha256(stored.content).hexdigest() == photo["sha256"] == stored.headers["etag"].strip('"')
    image = Image.open(io.BytesIO(stored.content))
    assert dict(image.getexif()) == {} and "exif" not in image.info and "comment" not in image.info
    for secret in (b"PhoneModel", b"PhoneMaker", b"IMG_2041", b"GPS"):
        assert secret not in stored.content
    thumb = await client.get(photo["thumbnail_url"], headers=me)
    assert thumb.status_code == 200 and max(Image.open(io.BytesIO(thumb.content)).size) <= 320


async def test_the_same_bytes_uploaded_again_are_the_same_photo(client, resident, hazards_app):
    me, data = resident(), image_bytes(colour=(1, 2, 3))
    first, again = await upload(client, me, data), await upload(client, me, data)
    assert first["photo_id"] == again["photo_id"] and await photo_rows(hazards_app) == 1
    other = await upload(client, resident("resident-2"), data)  # another uploader's photo is theirs
    assert other["photo_id"] != first["photo_id"]


@pytest.mark.parametrize("fmt,media_type", [("PNG", "image/png"), ("WEBP", "image/webp"), ("HEIF", "image/jpeg")])
async def test_png_webp_and_heic_are_accepted_by_their_content_not_their_name(client, resident, fmt, media_type):
    photo = await upload(client, resident(), image_bytes((40, 30), fmt), name="x.txt", content_type="text/plain")
    assert photo["media_type"] == media_type and (photo["width"], photo["height"]) == (40, 30)


async def test_a_raw_image_body_is_an_upload_too(client, resident):
    response = await client.post("/v1/photos", content=image_bytes(), headers={**resident(), "content-type": "image/jpeg"})
    assert response.status_code == 201 and response.json()["media_type"] == "image/jpeg"


@pytest.mark.parametrize("name,data,status,slug", [
    ("not an image", b"%PDF-1.7 definitely a document" * 100, 415, "not-an-image"),
    ("a truncated JPEG", image_bytes((400, 300))[:600], 415, "not-an-image"),
    ("a decompression bomb", png_bomb(), 422, "image-too-large"),
    ("too many pixels, below the bomb guard", png_bomb(9_000, 9_000), 422, "image-too-large"),
    ("empty", b"", 422, "photo-missing"),
])
async def test_a_hostile_upload_is_a_4xx_and_nothing_is_kept(client, resident, hazards_app, hazards_settings,
                                                             name, data, status, slug):
    response = await client.post("/v1/photos", headers=resident(), files={"file": ("a.jpg", data, "image/jpeg")})
    assert_problem(response, status, slug)
    assert await photo_rows(hazards_app) == 0 and stored_files(hazards_settings) == []


async def test_a_50_mb_photo_is_refused_before_it_is_read(client, resident, hazards_app, hazards_settings):
    big = b"\xff\xd8\xff" + b"\0" * (50 * 1024 * 1024)
    response = await client.post("/v1/photos", headers={**resident(), "content-type": "image/jpeg"}, content=big)
    body = assert_problem(response, 413, "payload-too-large")
    assert body["max_bytes"] == hazards_settings.photo_max_bytes
    response = await client.post("/v1/photos", headers=resident(), files={"file": ("big.jpg", big, "image/jpeg")})
    assert_problem(response, 413, "payload-too-large")
    assert await photo_rows(hazards_app) == 0


async def test_an_upload_needs_a_form_or_an_image_body_and_a_reporting_or_fixing_scope(client, token, resident):
    assert_problem(await client.post("/v1/photos", headers=resident(), json={"file": "x"}), 415, "unsupported-media-type")
    assert_problem(await client.post("/v1/photos", headers=resident(), files={"other": ("a", image_bytes(), "image/jpeg")}),
                   422, "photo-missing")
    reader = {**token("hazards:read"), "content-type": "image/jpeg"}
    assert_problem(await client.post("/v1/photos", content=image_bytes(), headers=reader), 403, "forbidden")


async def test_a_reports_photos_are_shown_to_its_chain_and_its_reporter_and_nobody_else(client, token, resident, city):
    lat, lon, community = a_point(city)
    me = resident()
    photo = await upload(client, me, jpeg_with_gps())
    created = await client.post("/v1/hazards", json=report(lat, lon, photo_ids=[photo["photo_id"]]), headers=me)
    assert created.status_code == 201, created.text
    hazard = created.json()
    url = hazard["photos"][0]["url"]
    assert hazard["photos"][0]["photo_id"] == photo["photo_id"]
    street = city.division(community.parent)
    elsewhere = next(d for d in city.divisions(level=Level.STREET) if d.code != street.code)
    assert (await client.get(url, headers=token("hazards:read", jurisdiction=[street.code]))).status_code == 200
    assert (await client.get(url, headers=me)).status_code == 200
    assert_problem(await client.get(url, headers=token("hazards:read", jurisdiction=[elsewhere.code])), 404, "not-found")
    assert_problem(await client.get(url, headers=resident("resident-2")), 404, "not-found")
    # Attached, it is the hazard's: not another's, and not attachable again.
    stray = await upload(client, me, image_bytes(colour=(9, 9, 9)))
    assert_problem(await client.get(f"/v1/hazards/{hazard['hazard_id']}/photos/{stray['photo_id']}", headers=me),
                   404, "not-found")
    again = await client.post("/v1/hazards", json=report(lat, lon, photo_ids=[photo["photo_id"]]), headers=me)
    assert_problem(again, 422, "unknown-photo")


async def test_a_report_naming_someone_elses_photo_writes_nothing(client, resident, token, city):
    lat, lon, _ = a_point(city)
    theirs = await upload(client, resident("resident-2"))
    response = await client.post("/v1/hazards", json=report(lat, lon, photo_ids=[theirs["photo_id"]]), headers=resident())
    assert_problem(response, 422, "unknown-photo")
    listed = await client.get("/v1/hazards", headers=token())
    assert listed.json()["hazards"] == []
    # Still theirs to use.
    mine = await client.post("/v1/hazards", json=report(lat, lon, photo_ids=[theirs["photo_id"]]),
                             headers=resident("resident-2"))
    assert mine.status_code == 201, mine.text


@pytest.fixture
async def photos_required(hazards_settings):
    """The service with the shipped rule: a resident's snapshot (随手拍) comes with a photo."""
    app = build_app(hazards_settings.model_copy(update={"min_photos_per_report": HazardsSettings().min_photos_per_report}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hazards") as c:
            yield c


async def test_a_residents_snapshot_needs_a_photo_and_a_grid_workers_report_does_not(photos_required, resident, token,
                                                                                     city):
    lat, lon, _ = a_point(city)
    assert_problem(await photos_required.post("/v1/hazards", json=report(lat, lon), headers=resident()),
                   422, "photos-required")
    worker = await photos_required.post("/v1/hazards", json=report(lat, lon, source="grid_worker"), headers=token())
    assert worker.status_code == 201, worker.text
    photo = await upload(photos_required, resident())
    snap = await photos_required.post("/v1/hazards", json=report(lat, lon, photo_ids=[photo["photo_id"]]),
                                      headers=resident())
    assert snap.status_code == 201, snap.text


async def test_erasing_a_reporter_deletes_their_unattached_photos_and_keeps_the_hazards(client, resident, token, city,
                                                                                       hazards_app, hazards_settings):
    lat, lon, _ = a_point(city)
    me = resident()
    attached = await upload(client, me, image_bytes(colour=(5, 5, 5)))
    pending = await upload(client, me, image_bytes(colour=(6, 6, 6)))
    hazard = (await client.post("/v1/hazards", json=report(lat, lon, photo_ids=[attached["photo_id"]]), headers=me)).json()
    assert len(stored_files(hazards_settings)) == 4  # each photo and its thumbnail
    assert (await client.delete("/v1/me/personal-data", headers=me)).status_code == 200
    assert len(stored_files(hazards_settings)) == 2 and await photo_rows(hazards_app) == 1
    assert_problem(await client.get(pending["url"], headers=me), 404, "not-found")
    shown = await client.get(hazard["photos"][0]["url"], headers=token())
    assert shown.status_code == 200


async def test_photos_never_attached_are_deleted_after_a_day(client, resident, hazards_app, hazards_settings):
    photos = hazards_app.state.photos
    await upload(client, resident())
    assert await photos.drop_unattached(dt.timedelta(hours=24)) == 0
    real_clock = photos.clock
    photos.clock = lambda: real_clock() + dt.timedelta(hours=25)
    assert await photos.drop_unattached(dt.timedelta(hours=24)) == 1
    assert await photo_rows(hazards_app) == 0 and stored_files(hazards_settings) == []


async def test_healthz_answers_within_100_ms_while_big_photos_and_bombs_are_decoded(hazards_settings, token, tmp_path):
    # The heaviest photo that passes: 7,000 × 7,000 pixels (49 MP, under the 50 MP limit), each decoded in full.
    out = io.BytesIO()
    Image.new("RGB", (7000, 7000), (90, 90, 90)).save(out, "PNG")
    heavy = out.getvalue()
    auth = token("hazards:report")
    async with served("hazards.main", hazards_settings, SERVED_FIELDS, tmp_path) as service:
        await service.get("/healthz")

        async def attack() -> None:
            for i in range(3):
                for data, status in ((heavy, 201), (png_bomb(), 422), (b"junk" * 1000, 415)):
                    r = await service.post("/v1/photos", headers=auth, files={"file": (f"{i}.png", data, "image/png")})
                    assert r.status_code == status, r.text

        delays = await healthz_delays_while(service, attack)
    assert len(delays) > 20 and max(delays) < 0.1, (len(delays), sorted(delays)[-5:])
