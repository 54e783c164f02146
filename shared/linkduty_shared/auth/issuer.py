"""The local stack's own token issuer: a signing key it generates, and a CLI for local clients.

    python -m linkduty_shared.auth.issuer token --client console-3301 --scope alarms:read \
        --jurisdiction 330106

Production points services at an external issuer's JWKS instead (LINKDUTY_AUTH_JWKS_URL).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from pathlib import Path

from joserfc import jwt
from joserfc.jwk import ECKey

DEFAULT_DIR = Path(os.environ.get("LINKDUTY_STATE", Path(__file__).resolve().parents[3] / ".state")) / "auth"


class LocalIssuer:
    def __init__(self, key_dir: Path = DEFAULT_DIR, *, issuer: str = "https://auth.linkduty.local") -> None:
        self.issuer = issuer
        self.key_dir = Path(key_dir)
        self.jwks_file = self.key_dir / "jwks.json"
        private_file = self.key_dir / "signing-key.json"
        if private_file.exists():
            self._key = ECKey.import_key(json.loads(private_file.read_text()))
        else:
            self.key_dir.mkdir(parents=True, exist_ok=True)
            self._key = ECKey.generate_key("P-256", parameters={"kid": uuid.uuid4().hex[:16], "use": "sig"}, private=True)
            tmp = private_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._key.as_dict(private=True)))
            tmp.chmod(0o600)
            tmp.replace(private_file)
        if not self.jwks_file.exists():
            self.jwks_file.write_text(json.dumps({"keys": [self._key.as_dict(private=False)]}))

    def issue(
        self,
        client_id: str,
        scopes: list[str],
        *,
        jurisdiction: list[str] | None = None,
        agency: str | None = None,
        centre: str | None = None,
        audience: str = "linkduty",
        ttl_s: int = 3600,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": client_id,
            "aud": audience,
            "iat": now,
            "exp": now + ttl_s,
            "jti": uuid.uuid4().hex,
            "scope": " ".join(scopes),
            "jurisdiction": jurisdiction or [],
        }
        if agency:
            claims["agency"] = agency
        if centre:
            claims["centre"] = centre
        return jwt.encode({"alg": "ES256", "kid": self._key.kid}, claims, self._key)


def main() -> None:
    parser = argparse.ArgumentParser(description="LinkDuty local token issuer")
    sub = parser.add_subparsers(dest="command", required=True)
    tok = sub.add_parser("token", help="print an access token for a local client")
    tok.add_argument("--client", required=True)
    tok.add_argument("--scope", action="append", default=[])
    tok.add_argument("--jurisdiction", action="append", default=[])
    tok.add_argument("--agency")
    tok.add_argument("--centre")
    tok.add_argument("--ttl", type=int, default=3600)
    sub.add_parser("jwks", help="print the path of the public JWKS")
    args = parser.parse_args()
    issuer = LocalIssuer()
    if args.command == "jwks":
        print(issuer.jwks_file)
    else:
        print(issuer.issue(args.client, args.scope, jurisdiction=args.jurisdiction, agency=args.agency,
                           centre=args.centre, ttl_s=args.ttl))


if __name__ == "__main__":
    main()
