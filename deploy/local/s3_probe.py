"""Readiness probe for the local S3 store, SeaweedFS (used by deploy/local/stack.sh).

An open port is not enough: the S3 gateway listens before its filer and volume server are
registered, and a bucket or identity missing shows only on a request. The probe does what a
service does, with its credentials: it writes an object into the bucket, reads it back and
deletes it. One try, no retries (stack.sh retries until its timeout).

Exit code 0 when the round trip worked, 1 otherwise (the reason goes to stderr, one line).
Usage: LINKDUTY_S3_ACCESS_KEY_ID=… LINKDUTY_S3_SECRET_ACCESS_KEY=… s3_probe.py --endpoint URL --bucket NAME
(credentials from the environment, not the command line, which any local user can read)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import uuid

import obstore
from obstore.store import S3Store


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args()
    store = S3Store(args.bucket, endpoint=args.endpoint, region=args.region, virtual_hosted_style_request=False,
                    access_key_id=os.environ["LINKDUTY_S3_ACCESS_KEY_ID"],
                    secret_access_key=os.environ["LINKDUTY_S3_SECRET_ACCESS_KEY"],
                    client_options={"allow_http": True, "timeout": "20s", "connect_timeout": "2s"},
                    retry_config={"max_retries": 0, "retry_timeout": dt.timedelta(seconds=20)})
    key, body = f"_linkduty_probe/{uuid.uuid4().hex}", uuid.uuid4().bytes
    try:
        obstore.put(store, key, body)
        got = bytes(obstore.get(store, key).bytes())
        obstore.delete(store, key)
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"; the reason is printed
        print(f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}", file=sys.stderr)
        return 1
    if got != body:
        print("read back other bytes than were written", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
