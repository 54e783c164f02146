"""The one app factory: every service is `create_app(settings, routers=…, …)`."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Awaitable, Callable, Mapping, Sequence

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from linkduty_shared.api.idempotency import IdempotencyMiddleware
from linkduty_shared.api.limits import XML_MEDIA_TYPES, BodyLimitMiddleware
from linkduty_shared.api.openapi import document_shared_answers
from linkduty_shared.api.problems import install_problem_handlers
from linkduty_shared.config import ServiceSettings
from linkduty_shared.runtime import Runtime
from linkduty_shared.telemetry import setup_tracing


def create_app(
    settings: ServiceSettings,
    *,
    title: str,
    routers: Sequence[APIRouter] = (),
    schema_sql: tuple[str, ...] = (),
    on_start: Callable[[Runtime], Awaitable[None]] | None = None,
    version: str = "0.1.0",
    event_store: bool = True,
    body_limits: Mapping[str, int] | None = None,
) -> FastAPI:
    """`body_limits`: a service's own limits by Content-Type (its photo uploads), over the
    settings' `max_body_bytes` for every other body."""
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        setup_tracing(settings.service_name, settings.otel_exporter)
        runtime = await Runtime.start(settings, schema_sql=schema_sql, event_store=event_store)
        app.state.runtime = runtime
        try:
            if on_start is not None:
                await on_start(runtime)
            # What start-up built (the city directory: millions of objects) lives as long as the
            # process: out of the collector's sight, a full collection no longer walks it (one
            # had paused the event loop 150 ms in the middle of a request).
            gc.collect()
            gc.freeze()
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, version=version, lifespan=lifespan)
    install_problem_handlers(app)
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes,  # added last: the outermost
                       by_media_type=dict.fromkeys(XML_MEDIA_TYPES, settings.max_xml_body_bytes) | dict(body_limits or {}))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        checks = await app.state.runtime.ready()
        ready = all(checks[name] == "ok" for name in settings.ready_requires)
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks,
                             "required": list(settings.ready_requires)}, status_code=200 if ready else 503)

    for router in routers:
        app.include_router(document_shared_answers(router))
    # A server span per request, continuing the caller's `traceparent`; events the request
    # appends carry that context on to Kafka (application.CommandContext.metadata). No span per
    # ASGI message: an SSE stream made one per event sent, a tenth of the gateway's CPU.
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz", exclude_spans=["receive", "send"])
    return app
