"""Verify OAuth2 client-credentials access tokens (JWT): signature, expiry, issuer, audience.

Keys come from a JWKS: a file written by the local issuer, or an external issuer's JWKS URL in
production. The URL is fetched off the request path, asynchronously (`keep_keys_fresh`, a
runtime task): at start, every REFRESH_S, and soon after a token names a key id the set does not
have (a rotation), at most every MIN_REFETCH_S. A request never waits for the issuer: until keys
are known, or while a new key id is being fetched, it is answered 503 with Retry-After (KeysUnavailable),
never 500 and never a wait of the event loop (a blocking fetch had held it up to 5 s).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from pathlib import Path

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

log = logging.getLogger(__name__)

ALGORITHMS = ["ES256", "RS256"]
_CACHE_SIZE = 10_000
REFRESH_S = 300.0  # a JWKS URL is fetched again this often
MIN_REFETCH_S = 30.0  # and no sooner than this after the last fetch for an unknown key id
RETRY_FETCH_S = 5.0  # while the issuer cannot be reached
FETCH_TIMEOUT_S = 5.0


class KeysUnavailable(Exception):
    """The issuer's keys cannot be had now (not yet fetched, or a new key id being fetched): 503."""

    retry_after_s = 2


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
        self, *, issuer: str, audience: str, jwks_file: str | None = None, jwks_url: str | None = None,
        min_refetch_s: float = MIN_REFETCH_S,
    ) -> None:
        if not (jwks_file or jwks_url):
            raise ValueError("a JWKS file or URL is required to verify tokens")
        self._min_refetch_s = min_refetch_s
        self._issuer = issuer
        self._audience = audience
        self._jwks_file = jwks_file
        self._jwks_url = jwks_url
        self._keys: KeySet | None = None
        self._verified: dict[str, tuple[Principal, float]] = {}
        self._loaded_at = 0.0
        self._refetch = asyncio.Event()  # set: the key-keeping task fetches soon
        self._claims = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
        )

    def _current_keys(self) -> KeySet:
        if self._jwks_file:
            if self._keys is None or time.monotonic() - self._loaded_at > REFRESH_S:
                self._set_keys(json.loads(Path(self._jwks_file).read_text()))  # a local file: no network
        elif self._keys is None:
            self._refetch.set()
            raise KeysUnavailable("the token issuer's keys have not been fetched yet")
        return self._keys

    def _set_keys(self, document: dict) -> None:
        self._keys = KeySet.import_key_set(document)
        self._loaded_at = time.monotonic()

    async def fetch_keys(self, client: httpx.AsyncClient) -> None:
        """Fetch the JWKS URL once; the keys held stay if it fails."""
        response = await client.get(self._jwks_url, timeout=FETCH_TIMEOUT_S)
        self._set_keys(response.raise_for_status().json())

    async def keep_keys_fresh(self) -> None:
        """The runtime task of a verifier with a JWKS URL (returns at once for a file)."""
        if not self._jwks_url:
            return
        async with httpx.AsyncClient() as client:
            while True:
                attempted_at = time.monotonic()
                try:
                    await self.fetch_keys(client)
                    wait, floor = REFRESH_S, self._min_refetch_s
                except (httpx.HTTPError, ValueError, JoseError) as exc:
                    log.warning("JWKS %s could not be fetched (%s); retrying in %.0f s", self._jwks_url,
                                type(exc).__name__, RETRY_FETCH_S)
                    wait = floor = RETRY_FETCH_S
                self._refetch.clear()
                try:
                    await asyncio.wait_for(self._refetch.wait(), wait)
                except TimeoutError:
                    continue
                # asked for sooner (an unknown key id, or no keys yet): not before `floor` since the
                # last attempt, so tokens with random key ids cannot make it hammer the issuer
                await asyncio.sleep(max(0.0, floor - (time.monotonic() - attempted_at)))

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
                decoded = jwt.decode(token, self._current_keys(), algorithms=ALGORITHMS)
            except InvalidKeyIdError:
                # the issuer may have rotated its keys: fetched again soon, at most every MIN_REFETCH_S
                if self._jwks_file or time.monotonic() - self._loaded_at < self._min_refetch_s:
                    raise
                self._refetch.set()
                raise KeysUnavailable("the token names a key the issuer's key set did not have; "
                                      "fetching the set again") from None
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
        if not isinstance(claims.get("sub"), str):
            raise AuthError(401, "invalid token: sub must be a string")
        for name in ("scope", "agency", "centre"):
            if claims.get(name) is not None and not isinstance(claims[name], str):  # absent or null: none
                raise AuthError(401, f"invalid token: {name} must be a string")
        principal = Principal(
            client_id=claims["sub"],
            scopes=frozenset((claims.get("scope") or "").split()),
            jurisdiction=tuple(jurisdiction),
            agency=claims.get("agency"),
            centre=claims.get("centre"),
            expires_at=float(claims["exp"]),
        )
        return principal, float(claims["exp"])
