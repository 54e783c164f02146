"""OAuth2 client-credentials JWTs: verification (every service) and the local issuer."""

from linkduty_shared.auth.tokens import AuthError, KeysUnavailable, Principal, TokenVerifier

__all__ = ["AuthError", "KeysUnavailable", "Principal", "TokenVerifier"]
