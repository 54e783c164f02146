"""The service skeleton: one app factory, problem+json errors, Idempotency-Key, ETag/If-Match."""
