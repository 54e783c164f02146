"""The AsyncAPI document describes exactly the AlarmNotification and HazardNotification contracts
the gateway consumes."""

import dataclasses

from gateway.asyncapi import AsyncApi
from linkduty_shared.contracts.alarm_context import MAX_HAZARDS, AlarmContextAttached, ContextHazard, ContextVenue
from linkduty_shared.contracts.hazards import STATUS_AFTER_EVENT
from linkduty_shared.contracts.notifications import (
    HAZARD_NOTIFICATION_TYPE,
    NOTIFICATION_TYPE,
    AlarmNotification,
    AlarmSummary,
    HazardNotification,
    HazardSummary,
)

document = AsyncApi.load().document
schemas = document["components"]["schemas"]


def fields(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_the_payload_schemas_list_every_field_of_the_contract_and_no_other():
    for name, cls in (("AlarmNotification", AlarmNotification), ("AlarmSummary", AlarmSummary)):
        assert set(schemas[name]["properties"]) == fields(cls), name
        assert set(schemas[name]["required"]) == fields(cls), name


def test_the_kafka_channel_and_the_console_streams_are_described():
    channels = document["channels"]
    assert channels["notifications"]["address"] == "linkage.notifications"
    headers = document["components"]["messages"]["AlarmNotificationRecord"]["headers"]["properties"]
    assert headers["ce_type"]["const"] == NOTIFICATION_TYPE
    assert channels["centreStreamSse"]["address"] == "/v1/centres/{centreId}/stream"
    assert channels["centreStreamWs"]["address"] == "/v1/centres/{centreId}/ws"
    actions = {op["channel"]["$ref"]: op["action"] for op in document["operations"].values()}
    assert actions == {"#/channels/notifications": "receive", "#/channels/centreStreamSse": "send",
                       "#/channels/centreStreamWs": "send"}


def test_every_local_reference_resolves():
    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(document):
        target = document
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]


def test_the_hazard_notification_is_described_field_for_field_on_the_topic_and_both_streams():
    for name, cls in (("HazardNotification", HazardNotification), ("HazardSummary", HazardSummary)):
        assert set(schemas[name]["properties"]) == fields(cls), name
        assert set(schemas[name]["required"]) == fields(cls), name
    messages = document["components"]["messages"]
    assert messages["HazardNotificationRecord"]["headers"]["properties"]["ce_type"]["const"] == HAZARD_NOTIFICATION_TYPE
    channels = document["channels"]
    assert channels["notifications"]["messages"]["hazardNotification"]["$ref"].endswith("/HazardNotificationRecord")
    for channel in ("centreStreamSse", "centreStreamWs"):
        assert "hazardNotification" in channels[channel]["messages"], channel
    assert set(schemas["Snapshot"]["required"]) == {"centre_id", "alarms", "hazards"}
    assert set(schemas["HazardSummary"]["properties"]["status"]["enum"]) == set(STATUS_AFTER_EVENT.values())


def test_the_pre_incident_picture_is_described_field_for_field():
    for name, cls in (("AlarmContext", AlarmContextAttached), ("ContextVenue", ContextVenue),
                      ("ContextHazard", ContextHazard)):
        assert set(schemas[name]["properties"]) == fields(cls), name
        assert set(schemas[name]["required"]) == fields(cls), name
    board_alarm = schemas["Snapshot"]["properties"]["alarms"]["items"]["allOf"][1]["properties"]
    assert board_alarm["context"]["$ref"].endswith("/AlarmContext")
    assert schemas["AlarmContext"]["properties"]["hazards"]["maxItems"] == MAX_HAZARDS


def test_the_volunteers_response_is_described_field_for_field():
    from linkduty_shared.contracts import volunteers

    for cls in (volunteers.VolunteersAlerted, volunteers.VolunteerResponseAccepted, volunteers.VolunteerSceneReported,
                volunteers.VolunteerAlertsStoodDown):
        assert set(schemas[cls.__name__]["properties"]) == fields(cls), cls.__name__
        assert set(schemas[cls.__name__]["required"]) == fields(cls), cls.__name__
    line = schemas["VolunteersAlerted"]["properties"]["alerted"]["items"]
    assert set(line["required"]) == fields(volunteers.AlertedVolunteer)
    assert {f"linkduty.alarm_response.{name}" for name in schemas if name.startswith("Volunteer")} == set(
        volunteers.FOR_CONSOLES)


def test_the_service_order_notification_is_described_on_the_topic_and_both_streams():
    from linkduty_shared.contracts.notifications import ORDER_NOTIFICATION_TYPE, ServiceOrderNotification
    from linkduty_shared.contracts.volunteers import ORDER_FIELDS

    assert set(schemas["ServiceOrderNotification"]["properties"]) == fields(ServiceOrderNotification)
    assert set(schemas["ServiceOrderNotification"]["required"]) == fields(ServiceOrderNotification)
    assert set(schemas["ServiceOrderNotification"]["properties"]["event_type"]["enum"]) == set(ORDER_FIELDS)
    record = document["components"]["messages"]["ServiceOrderNotificationRecord"]
    assert record["headers"]["properties"]["ce_type"]["const"] == ORDER_NOTIFICATION_TYPE
    for channel in ("notifications", "centreStreamSse", "centreStreamWs"):
        assert "orderNotification" in document["channels"][channel]["messages"], channel
