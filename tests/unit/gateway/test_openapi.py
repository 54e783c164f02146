"""The OpenAPI document (/docs) builds and lists the console routes."""

from gateway.bootstrap import build_app


def test_the_openapi_document_lists_the_stream_and_the_board():
    spec = build_app().openapi()
    stream = spec["paths"]["/v1/centres/{centre_id}/stream"]["get"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    assert {p["name"] for p in stream["parameters"]} >= {"centre_id", "Last-Event-ID", "last_event_id", "snapshot", "access_token"}
    assert "/v1/centres/{centre_id}/alarms" in spec["paths"]
