from __future__ import annotations

from typing import Annotated

from pydantic import Field

from linkduty_shared.config import HttpServiceSettings


class DevicesSettings(HttpServiceSettings):
    service_name: str = "devices"
    pg_dsn: str = "postgresql://linkduty:linkduty@127.0.0.1:15432/linkduty_devices"
    port: int = 8106
    events_topic: str = "devices.events"
    # The IoT platforms allowed to send signals (TOML, see devices/platforms.py); the local stack
    # writes $STATE/devices/platforms.toml. None: no platform, every signal refused.
    device_platforms_file: str | None = None

    # MQTT intake (Mosquitto locally: deploy/local/stack.sh).
    mqtt_enabled: bool = True
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 11883
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    mqtt_ca_file: str | None = None  # set: TLS to the broker, verified against this CA (k8s)
    mqtt_workers: int = 8  # a device's signals always go through the same one, in order
    # Signals are read from linkduty/devices/<platform>/<suffix>: the broker lets each platform
    # write only under its own linkduty/devices/<platform>/#. A test run takes a suffix of its
    # own, so that the running system's service never sees its messages.
    mqtt_topic_suffix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", max_length=100)] = "signals"
    # A persistent session (the broker keeps QoS 1 messages while the service is away); tests
    # and benchmarks take a clean one, so that the broker keeps nothing for them once they end.
    mqtt_persistent_session: bool = True

    # How signals are read.
    quick_clear_s: float = 120.0  # "alarm cleared" this soon after the raise, no repeat: a possible false alarm
    offline_grace: float = 2.5  # heartbeat periods without any signal before a device is offline
    battery_ok_pct: int = 30
    offline_sweep_interval_s: float = 15.0
    offline_sweep_batch: int = 500
