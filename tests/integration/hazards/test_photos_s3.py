"""Photos kept in S3 (issue 11 §2, production's store): the hazards app with
LINKDUTY_OBJECT_STORE=s3 and the local stack's SeaweedFS puts an upload's bytes in the bucket."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx

from hazards.bootstrap import build_app
from hazards.config import HazardsSettings
from linkduty_shared.objects import ObjectStore
from tests.integration.hazards.conftest import image_bytes, upload
from tests.integration.shared.test_objects_s3 import bucket_keys


async def test_an_uploaded_photo_and_its_thumbnail_land_in_the_s3_bucket(hazards_settings, s3_stack, monkeypatch,
                                                                          resident):
    monkeypatch.setenv("LINKDUTY_OBJECT_STORE", "s3")
    for name, value in s3_stack.items():
        monkeypatch.setenv(name, value)
    # The suite's settings but the object store's, which now come from the environment as a
    # deployed service's do.
    settings = HazardsSettings(**{k: v for k, v in hazards_settings.model_dump().items()
                                  if not k.startswith(("object_store", "s3_"))})
    assert settings.object_store == "s3" and settings.s3_endpoint == s3_stack["LINKDUTY_S3_ENDPOINT"]
    app = build_app(settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://hazards") as client:
        me = resident()
        photo = await upload(client, me, image_bytes(colour=(9, 120, 200)))
        served = await client.get(photo["url"], headers=me)
        assert served.status_code == 200

    prefix = f"hazards/photos/{photo['photo_id']}/"
    assert bucket_keys(settings, prefix) == [prefix + "full", prefix + "thumbnail"]
    store = ObjectStore.from_settings(settings, prefix="hazards")
    kept = await store.get(f"photos/{photo['photo_id']}/full")
    assert kept == served.content and hashlib.sha256(kept).hexdigest() == photo["sha256"]
    assert not any(p.is_file() for p in Path(hazards_settings.object_store_path).rglob("*"))  # nothing local
    for key in ("full", "thumbnail"):
        await store.delete(f"photos/{photo['photo_id']}/{key}")
