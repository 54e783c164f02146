"""Token verification (pure: keys from a JWKS file the local issuer writes)."""

import time

import pytest

from linkduty_shared.auth import AuthError, TokenVerifier
from linkduty_shared.auth.issuer import LocalIssuer


@pytest.fixture
def issuer(tmp_path):
    return LocalIssuer(tmp_path / "auth")


@pytest.fixture
def verifier(issuer):
    return TokenVerifier(issuer=issuer.issuer, audience="linkduty", jwks_file=str(issuer.jwks_file))


def test_claims_become_the_principal(issuer, verifier):
    token = issuer.issue("console-1", ["alarms:read", "stream:read"], jurisdiction=["330102000000"],
                         agency="fire-rescue", centre="centre-330102000000")
    p = verifier.verify(token)
    assert (p.client_id, p.scopes, p.jurisdiction, p.agency, p.centre) == (
        "console-1", frozenset({"alarms:read", "stream:read"}), ("330102000000",), "fire-rescue", "centre-330102000000")


def test_a_cached_token_still_expires(issuer, verifier):
    # exp is in whole seconds: a 1 s token issued at x.99 was already expired when verified
    token = issuer.issue("c", ["x"], ttl_s=2)
    assert verifier.verify(token).client_id == "c"
    time.sleep(2.1)
    with pytest.raises(AuthError) as refused:
        verifier.verify(token)
    assert refused.value.status == 401


def test_tampered_or_foreign_tokens_are_refused(issuer, verifier, tmp_path):
    token = issuer.issue("c", ["x"])
    head, payload, signature = token.split(".")
    for bad in (f"{head}.{payload}.{signature[:-4]}AAAA", LocalIssuer(tmp_path / "other").issue("c", ["x"]), "x.y.z"):
        with pytest.raises(AuthError):
            verifier.verify(bad)


@pytest.mark.parametrize("jurisdiction", [330105, [330105002005], [["330105"]], {"community": "330105002005"}])
def test_a_signed_token_with_a_jurisdiction_that_is_not_codes_is_refused(issuer, verifier, jurisdiction):
    """The issuer signs what it is given: a number for a code had answered 500 on every route."""
    with pytest.raises(AuthError, match="jurisdiction must be a list of division codes") as refused:
        verifier.verify(issuer.issue("c", ["alarms:read"], jurisdiction=jurisdiction))
    assert refused.value.status == 401


def test_a_signed_token_with_a_centre_that_is_not_a_string_is_refused(issuer, verifier):
    with pytest.raises(AuthError, match="centre must be a string"):
        verifier.verify(issuer.issue("c", ["alarms:read"], centre=330105))


def test_optional_claims_sent_as_null_are_absent(issuer, verifier):
    """An external issuer may send "centre": null; that is no centre, not a bad token."""
    from joserfc import jwt as joserfc_jwt  # the local issuer leaves such claims out: sign one by hand
    import time as _time
    claims = {"iss": issuer.issuer, "sub": "c", "aud": "linkduty", "exp": int(_time.time()) + 60,
              "scope": "alarms:read", "jurisdiction": [], "centre": None, "agency": None}
    token = joserfc_jwt.encode({"alg": "ES256", "kid": issuer._key.kid}, claims, issuer._key)
    p = verifier.verify(token)
    assert (p.centre, p.agency, p.scopes) == (None, None, frozenset({"alarms:read"}))
