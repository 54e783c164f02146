"""The object store's S3 path against a real S3-compatible server: the local stack's SeaweedFS
(deploy/local/stack.sh s3-start), with the identity and bucket the stack writes to stack.env."""

from __future__ import annotations

import socket
import uuid

import obstore
import pytest
from obstore.store import S3Store
from pydantic import SecretStr

from linkduty_shared.objects import ObjectMissing, ObjectStore, ObjectStoreUnavailable


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store(s3_settings, prefix) -> ObjectStore:
    return ObjectStore.from_settings(s3_settings, prefix=prefix)


def bucket_keys(settings, prefix: str) -> list[str]:
    """The bucket's keys under `prefix`, listed with S3 itself rather than through ObjectStore."""
    raw = S3Store(settings.s3_bucket, endpoint=settings.s3_endpoint, region=settings.s3_region,
                  access_key_id=settings.s3_access_key_id,
                  secret_access_key=settings.s3_secret_access_key.get_secret_value(),
                  virtual_hosted_style_request=False, client_options={"allow_http": True})
    return sorted(meta["path"] for batch in obstore.list(raw, prefix=prefix) for meta in batch)


def a_closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_an_object_put_is_read_back_whole_and_is_gone_after_delete(store):
    data = bytes(range(256)) * 4096  # 1 MiB, every byte value
    await store.put("photos/a/full", data)
    assert await store.get("photos/a/full") == data
    await store.delete("photos/a/full")
    with pytest.raises(ObjectMissing):
        await store.get("photos/a/full")


async def test_a_key_never_written_is_missing_and_deleting_it_is_no_error(store):
    with pytest.raises(ObjectMissing):
        await store.get("photos/never/full")
    await store.delete("photos/never/full")


async def test_putting_again_under_a_key_replaces_the_bytes(store):
    await store.put("k", b"old bytes, longer than the new ones")
    await store.put("k", b"new")
    assert await store.get("k") == b"new"


async def test_the_prefix_keeps_one_stores_keys_apart_from_anothers(s3_settings, prefix):
    mine, theirs = (ObjectStore.from_settings(s3_settings, prefix=p) for p in (prefix, prefix + "-other"))
    await mine.put("same/key", b"mine")
    with pytest.raises(ObjectMissing):
        await theirs.get("same/key")
    await theirs.put("same/key", b"theirs")
    await theirs.delete("same/key")
    assert await mine.get("same/key") == b"mine"


async def test_keys_land_in_the_bucket_under_the_prefix(s3_settings, store, prefix):
    await store.put("photos/x/full", b"x")
    assert bucket_keys(s3_settings, prefix) == [f"{prefix}/photos/x/full"]


async def test_an_endpoint_that_is_down_is_unavailable_not_missing(s3_settings):
    down = ObjectStore.from_settings(
        s3_settings.model_copy(update={"s3_endpoint": f"http://127.0.0.1:{a_closed_port()}"}), prefix="p")
    for call in (down.put("k", b"x"), down.get("k"), down.delete("k")):
        with pytest.raises(ObjectStoreUnavailable):
            await call


async def test_wrong_credentials_are_unavailable_and_nothing_is_written(s3_settings, store):
    intruder = ObjectStore.from_settings(
        s3_settings.model_copy(update={"s3_secret_access_key": SecretStr("not-the-secret")}), prefix=store.prefix)
    with pytest.raises(ObjectStoreUnavailable):
        await intruder.put("k", b"x")
    with pytest.raises(ObjectMissing):
        await store.get("k")
