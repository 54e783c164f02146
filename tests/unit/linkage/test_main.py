"""What the worker prepares before Faust starts."""

from linkduty_shared.jurisdictions import load_demo_city
from linkage.app import create_app
from linkage.config import LinkageSettings
from linkage.main import changelog_topics
from linkage.routing import DEFAULT_RULES, RoutingConfig


def test_each_table_gets_a_compacted_changelog_with_a_partition_per_source_partition():
    settings = LinkageSettings(app_id="linkage-unit", partitions=6, topic_replication_factor=3)
    app = create_app(settings, load_demo_city(), RoutingConfig.load(DEFAULT_RULES))
    specs = {s.name: s for s in changelog_topics(app)}
    assert set(specs) == {f"linkage-unit-{t}-changelog" for t in ("alarm-routes-v2", "ack-deadlines", "parked-alarm-records")}
    assert {(s.partitions, s.replication_factor, s.retention_ms) for s in specs.values()} == {(6, 3, None)}
    assert all(s.topic_configs() == {"cleanup.policy": "compact"} for s in specs.values())


def test_faust_is_given_every_broker_of_a_comma_separated_bootstrap_list():
    settings = LinkageSettings(app_id="linkage-unit", kafka_bootstrap="127.0.0.1:29092,127.0.0.1:29094")
    app = create_app(settings, load_demo_city(), RoutingConfig.load(DEFAULT_RULES))
    assert [str(u) for u in app.conf.broker] == ["kafka://127.0.0.1:29092", "kafka://127.0.0.1:29094"]
