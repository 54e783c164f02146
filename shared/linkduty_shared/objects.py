"""The object store: keys to bytes, for what does not belong in PostgreSQL (residents' photos).

One interface over `obstore` (Rust's object_store): the local filesystem, the embedded default
(a directory, fine for one host and for tests), or S3-compatible storage for production (any
replica reads what another wrote). `ObjectStoreSettings` chooses; `LINKDUTY_OBJECT_STORE=s3` with
the `LINKDUTY_S3_*` settings the local stack writes (deploy/local/stack.sh, SeaweedFS) or a
cloud bucket's. Keys are the service's to choose; `prefix` keeps one service's keys apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import obstore
import obstore.exceptions
from obstore.store import LocalStore, S3Store
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ObjectMissing(LookupError):
    """No object under this key (never written, or deleted)."""


class ObjectStoreUnavailable(Exception):
    """The store did not answer, or refused us (down, unreachable, credentials): a 503, not a 500."""


_MISSING = (FileNotFoundError, obstore.exceptions.NotFoundError)
_UNAVAILABLE = (obstore.exceptions.BaseError, OSError, TimeoutError)


class ObjectStoreSettings(BaseSettings):
    """Mixed into a service's settings (env prefix `LINKDUTY_`)."""

    # As ServiceSettings': a mixin's own defaults would otherwise reset the prefix of the class it is mixed into.
    model_config = SettingsConfigDict(env_prefix="LINKDUTY_", extra="ignore")

    object_store: Literal["local", "s3"] = "local"
    object_store_path: str = ".state/objects"  # local: a directory, created when missing
    s3_endpoint: str | None = None  # None: AWS itself; e.g. http://127.0.0.1:18333 for the local stack
    s3_bucket: str = "linkduty-photos"
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None


class ObjectStore:
    def __init__(self, store: LocalStore | S3Store, *, prefix: str, description: str) -> None:
        self._store, self.prefix, self.description = store, prefix.strip("/"), description

    @classmethod
    def from_settings(cls, settings: ObjectStoreSettings, *, prefix: str) -> ObjectStore:
        if settings.object_store == "local":
            path = Path(settings.object_store_path).resolve()
            return cls(LocalStore(path, mkdir=True), prefix=prefix, description=f"local {path}")
        secret = settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None
        config = {k: v for k, v in (("endpoint", settings.s3_endpoint), ("access_key_id", settings.s3_access_key_id),
                                    ("secret_access_key", secret)) if v}
        store = S3Store(settings.s3_bucket, region=settings.s3_region, virtual_hosted_style_request=False,
                        client_options={"allow_http": bool(settings.s3_endpoint and
                                                           settings.s3_endpoint.startswith("http://")),
                                        "timeout": "30s", "connect_timeout": "5s"},
                        **config)
        return cls(store, prefix=prefix, description=f"s3 {settings.s3_endpoint or 'aws'}/{settings.s3_bucket}")

    def _path(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"not an object key: {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put(self, key: str, data: bytes) -> None:
        """Write (or overwrite) the object whole: a reader sees the old bytes or the new, never part."""
        path = self._path(key)
        try:
            await obstore.put_async(self._store, path, data)
        except _UNAVAILABLE as exc:
            raise ObjectStoreUnavailable(f"{self.description}: {type(exc).__name__}") from exc

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            result = await obstore.get_async(self._store, path)
            return bytes(await result.bytes_async())
        except _MISSING:
            raise ObjectMissing(key) from None
        except _UNAVAILABLE as exc:
            raise ObjectStoreUnavailable(f"{self.description}: {type(exc).__name__}") from exc

    async def delete(self, key: str) -> None:
        """Gone afterwards, whether or not it was there."""
        path = self._path(key)
        try:
            await obstore.delete_async(self._store, path)
        except _MISSING:
            pass
        except _UNAVAILABLE as exc:
            raise ObjectStoreUnavailable(f"{self.description}: {type(exc).__name__}") from exc
