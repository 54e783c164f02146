"""Fixtures every service's integration tests share: the demo city, a local token issuer and the
stack's S3 store."""

from __future__ import annotations

import os
import subprocess

import pytest

from linkduty_shared.auth.issuer import LocalIssuer
from linkduty_shared.jurisdictions import load_demo_city
from linkduty_shared.objects import ObjectStoreSettings
from tests.conftest import ROOT, STATE, _read_stack_env


@pytest.fixture(scope="session")
def city():
    return load_demo_city()


@pytest.fixture
def issuer(tmp_path) -> LocalIssuer:
    return LocalIssuer(tmp_path / "auth")


@pytest.fixture(scope="session")
def s3_stack() -> dict[str, str]:
    """The local stack's S3 store (SeaweedFS), started through the project's script when it is
    not running: the first run on a machine builds weed from the Go module proxy (minutes, once)."""
    subprocess.run([str(ROOT / "deploy/local/stack.sh"), "s3-start"], check=True,
                   env={**os.environ, "LINKDUTY_STATE": str(STATE)})
    return {k: v for k, v in _read_stack_env().items() if k.startswith("LINKDUTY_S3_")}


@pytest.fixture
def s3_settings(s3_stack) -> ObjectStoreSettings:
    """Settings for the stack's bucket, as a service given LINKDUTY_OBJECT_STORE=s3 has them."""
    return ObjectStoreSettings(
        object_store="s3", s3_endpoint=s3_stack["LINKDUTY_S3_ENDPOINT"], s3_bucket=s3_stack["LINKDUTY_S3_BUCKET"],
        s3_region=s3_stack["LINKDUTY_S3_REGION"], s3_access_key_id=s3_stack["LINKDUTY_S3_ACCESS_KEY_ID"],
        s3_secret_access_key=s3_stack["LINKDUTY_S3_SECRET_ACCESS_KEY"])
