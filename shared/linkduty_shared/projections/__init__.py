"""Read models: a projection applies events to its own tables, idempotently.

Two feeds share one `Projection`:
- `KafkaProjectionHandler` plugs into the consumer runner (events of other services, or live);
  each event is applied once, by event id, in the same transaction as the dedup row.
- `StoreProjectionRunner` follows the service's own event store in global order, storing its
  position in the same transaction as the rows; `rebuild` drops the rows and replays from zero.
"""

from linkduty_shared.projections.base import Projection
from linkduty_shared.projections.runners import KafkaProjectionHandler, StoreProjectionRunner

__all__ = ["KafkaProjectionHandler", "Projection", "StoreProjectionRunner"]
