"""The IoT platforms allowed to send device signals: each with the secret it signs webhooks with
(Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature) and the MQTT user the
broker knows it by (the broker's ACL lets that user write only under
`linkduty/devices/<platform id>/`). Read from a TOML file (`[[platform]]` tables: id, name,
webhook_secret, mqtt_username); the local stack generates one (`$STATE/devices/platforms.toml`)."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

from standardwebhooks import Webhook

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclasses.dataclass(frozen=True)
class Platform:
    id: str
    name: str
    webhook: Webhook = dataclasses.field(repr=False)  # the secret, never printed
    mqtt_username: str | None = None


def parse_platforms(text: str) -> dict[str, Platform]:
    """The platforms of a TOML text; ValueError naming the platform and field at fault."""
    platforms: dict[str, Platform] = {}
    for i, entry in enumerate(tomllib.loads(text).get("platform", [])):
        pid = entry.get("id")
        if not isinstance(pid, str) or not _ID.match(pid):
            raise ValueError(f"platform #{i + 1}: id {pid!r} is not a lower-case slug")
        if pid in platforms:
            raise ValueError(f"platform {pid}: listed twice")
        secret = entry.get("webhook_secret")
        if not isinstance(secret, str) or len(secret) < 24:
            raise ValueError(f"platform {pid}: webhook_secret missing or shorter than 24 characters")
        try:
            webhook = Webhook(secret)
        except Exception:
            raise ValueError(f"platform {pid}: webhook_secret is not base64 (optionally whsec_-prefixed)") from None
        platforms[pid] = Platform(pid, str(entry.get("name", pid)), webhook, entry.get("mqtt_username"))
    return platforms


def load_platforms(path: str | None) -> dict[str, Platform]:
    return parse_platforms(Path(path).read_text(encoding="utf-8")) if path else {}
