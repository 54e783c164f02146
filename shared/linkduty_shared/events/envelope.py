"""The event envelope: CloudEvents 1.0 attributes plus LinkDuty's extensions.

On Kafka it travels in the CloudEvents Kafka protocol binding, binary mode (attributes as `ce_*`
headers, data as the JSON value, key = aggregate id), converted by the CloudEvents SDK.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import orjson
from cloudevents.v1.http import CloudEvent
from cloudevents.v1.kafka import KafkaMessage, from_binary, to_binary

# Extension attribute names (CloudEvents: lower-case alphanumerics only). The context ones are
# what a command carries into every event it causes; the store keeps them in `metadata`.
CONTEXT_EXTENSIONS = ("traceparent", "tracestate", "correlationid", "causationid", "actor", "agency")
EXTENSIONS = (
    *CONTEXT_EXTENSIONS,
    "dataversion",  # schema version of `data`
    "streamversion",  # the aggregate's version after this event
    "divisions",  # the aggregate's division chain (codes, space-separated): where it is, for routing
)


class EnvelopeError(ValueError):
    """A message that is not a valid LinkDuty CloudEvent (a poison message for consumers)."""


@dataclasses.dataclass(frozen=True)
class Envelope:
    id: str
    source: str  # e.g. "/linkduty/alarms"
    type: str  # e.g. "linkduty.alarms.AlarmReported"
    subject: str  # the aggregate (stream) id; also the Kafka key
    time: dt.datetime
    data: dict[str, Any]
    dataversion: int = 1
    streamversion: int | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    correlationid: str | None = None
    causationid: str | None = None
    actor: str | None = None
    agency: str | None = None
    # The division codes of the aggregate's chain (its community, street, district, city…), from
    # its repository's `chain`: a consumer routes by place without keeping the aggregate's state.
    divisions: str | None = None

    @property
    def event_name(self) -> str:
        """The bare event name, e.g. `AlarmReported`."""
        return self.type.rsplit(".", 1)[-1]

    def attributes(self) -> dict[str, str]:
        attrs = {
            "specversion": "1.0",
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": self.time.isoformat(),
            "datacontenttype": "application/json",
        }
        for name in EXTENSIONS:
            value = getattr(self, name)
            if value is not None:
                attrs[name] = str(value)
        return attrs


VAULT_REF_SUFFIX = "_ref"  # data fields naming a record in the service's own PII vault


def leaving_the_service(envelope: Envelope) -> Envelope:
    """The envelope as it may leave its service: without vault references (`*_ref` data fields),
    which mean nothing elsewhere and would let a reader ask for a person's record."""
    if not any(key.endswith(VAULT_REF_SUFFIX) for key in envelope.data):
        return envelope
    public = {k: v for k, v in envelope.data.items() if not k.endswith(VAULT_REF_SUFFIX)}
    return dataclasses.replace(envelope, data=public)


def envelope_to_kafka(envelope: Envelope) -> KafkaMessage:
    event = CloudEvent.create(envelope.attributes(), envelope.data)
    return to_binary(event, data_marshaller=orjson.dumps, key_mapper=lambda _: envelope.subject.encode())


def event_type_of(headers: list[tuple[str, bytes]] | None) -> str | None:
    """A record's CloudEvent type from its `ce_type` header, without parsing the record: consumers
    of a shared topic skip what they do not read at the cost of a header lookup."""
    for name, value in headers or ():
        if name == "ce_type":
            try:
                return value.decode()
            except UnicodeDecodeError:
                return None
    return None


def envelope_from_kafka(headers: list[tuple[str, bytes]] | dict[str, bytes], key: bytes | None, value: bytes | None) -> Envelope:
    """Parse a Kafka record; raises EnvelopeError for anything that is not a valid envelope."""
    if value is None:
        raise EnvelopeError("record has no value")
    header_map = dict(headers) if not isinstance(headers, dict) else headers
    try:
        event = from_binary(KafkaMessage(header_map, key, value), data_unmarshaller=orjson.loads)
        attrs = event.get_attributes()
        data = event.get_data()
        if not isinstance(data, dict):
            raise EnvelopeError("event data is not a JSON object")
        return Envelope(
            id=attrs["id"],
            source=attrs["source"],
            type=attrs["type"],
            subject=attrs.get("subject") or (key.decode() if key else ""),
            time=dt.datetime.fromisoformat(attrs["time"]),
            data=data,
            dataversion=int(attrs.get("dataversion", 1)),
            streamversion=int(attrs["streamversion"]) if "streamversion" in attrs else None,
            divisions=attrs.get("divisions"),
            **{name: attrs.get(name) for name in CONTEXT_EXTENSIONS},
        )
    except EnvelopeError:
        raise
    except Exception as exc:  # the SDK and parsing raise many kinds; all mean "not an envelope"
        raise EnvelopeError(f"not a CloudEvent in Kafka binary mode: {exc}") from exc
