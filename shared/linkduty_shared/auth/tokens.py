"""Verify OAuth2 client-credentials access tokens (JWT): signature, expiry, issuer, audience.

Keys come from a JWKS: a file written by the local issuer, or an external issuer's JWKS URL in
production (fetched with httpx and cached; refreshed when a token names an unknown key id).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

ALGORITHMS = ["ES256", "RS256"]
_CACHE_SIZE = 10_000


class AuthError(Exception):
    """401 (no or bad token) or 403 (valid token, not allowed)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclasses.dataclass(frozen=True)
class Principal:
    client_id: str
    scopes: frozenset[str]
    jurisdiction: tuple[str, ...]  # division codes the client may see ("" = none)
    agency: str | None = None
    centre: str | None = None  # the operations centre a console token speaks for
    expires_at: float | None = None  # the token's exp (epoch seconds): a stream opened with it ends then

    def may_see(self, chain: list[str] | tuple[str, ...]) -> bool:
        """Whether a record whose division chain (its division and those above) is `chain` lies
        inside the token's jurisdiction."""
        return any(code in chain for code in self.jurisdiction)

    def require(self, *scopes: str) -> None:
        missing = [s for s in scopes if s not in self.scopes]
        if missing:
            raise AuthError(403, f"token lacks scope(s): {', '.join(missing)}")


class TokenVerifier:
    def __init__(
        self, *, issuer: str, audience: str, jwks_file: str | None = None, jwks_url: str | None = None
    ) -> None:
        if not (jwks_file or jwks_url):
            raise ValueError("a JWKS file or URL is required to verify tokens")
        self._issuer = issuer
        self._audience = audience
        self._jwks_file = jwks_file
        self._jwks_url = jwks_url
        self._keys: KeySet | None = None
        self._verified: dict[str, tuple[Principal, float]] = {}
        self._loaded_at = 0.0
        self._claims = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
        )

    def _load_keys(self, force: bool = False) -> KeySet:
        if self._keys is None or force or time.monotonic() - self._loaded_at > 300:
            if self._jwks_file:
                document = json.loads(Path(self._jwks_file).read_text())
            else:
                document = httpx.get(self._jwks_url, timeout=5).raise_for_status().json()
            self._keys = KeySet.import_key_set(document)
            self._loaded_at = time.monotonic()
        return self._keys

    def verify(self, token: str) -> Principal:
        """The token's principal; a token verified before is answered from a small cache until it
        expires (an intake client sends the same token with every call: the signature check was
        a twentieth of the alarms service's time per request)."""
        cached = self._verified.get(token)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        principal, expires_at = self._verify(token)
        if len(self._verified) >= _CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)))  # oldest first: dicts keep insertion order
        self._verified[token] = (principal, expires_at)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            try:
                decoded = jwt.decode(token, self._load_keys(), algorithms=ALGORITHMS)
            except InvalidKeyIdError:
                # the issuer may have rotated its keys: fetch them again, at most every 30 s
                if time.monotonic() - self._loaded_at < 30:
                    raise
                decoded = jwt.decode(token, self._load_keys(force=True), algorithms=ALGORITHMS)
            self._claims.validate(decoded.claims)
        except (JoseError, ValueError, KeyError) as exc:
            raise AuthError(401, f"invalid token: {exc}") from None
        claims = decoded.claims
        jurisdiction = claims.get("jurisdiction", [])
        if isinstance(jurisdiction, str):
            jurisdiction = [jurisdiction]
        # A signed token with a claim of the wrong shape (a number for a code) is refused like a
        # bad signature: every check after this compares strings.
        if not (isinstance(jurisdiction, list) and all(isinstance(code, str) for code in jurisdiction)):
            raise AuthError(401, "invalid token: jurisdiction must be a list of division codes")
        for name in ("sub", "scope", "agency", "centre"):
            if not isinstance(claims.get(name, ""), str):
                raise AuthError(401, f"invalid token: {name} must be a string")
        principal = Principal(
            client_id=claims["sub"],
            scopes=frozenset(claims.get("scope", "").split()),
            jurisdiction=tuple(jurisdiction),
            agency=claims.get("agency"),
            centre=claims.get("centre"),
            expires_at=float(claims["exp"]),
        )
        return principal, float(claims["exp"])
