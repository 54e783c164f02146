"""The production Kubernetes manifests (k8s/), checked offline.

Built-in kinds are validated (strict: unknown fields fail) against the Kubernetes schemas that
kubernetes-validate ships, so no cluster and no network are needed. Operator resources
(Strimzi, CloudNativePG, KEDA) have no schema there: they are checked against the rest of the
repository instead, above all the KafkaTopics against topics.toml.

Every kustomization is rendered by kustomize itself, the version deploy/tools/kustomize.sh pins
(it builds it once with `go install` into .state/). When kubectl is on PATH, its own
`kubectl kustomize` must agree.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from alarms.config import AlarmsSettings
from devices.config import DevicesSettings
from gateway.config import GatewaySettings
from hazards.config import HazardsSettings
from linkage.config import LinkageSettings
from linkduty_shared.config import HttpServiceSettings, ServiceSettings
from linkduty_shared.messaging.topics import configured_topics
from units.config import UnitsSettings
from volunteers.config import VolunteersSettings

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "k8s"
KUBERNETES_VERSION = "1.31.0"  # a schema set shipped inside kubernetes-validate (no download)
OVERLAYS = ["staging", "production"]
TARGETS = ["base", "infra", *(f"overlays/{o}" for o in OVERLAYS)]

# Service → (module run as `python -m`, HTTP port or None, PostgreSQL database or None).
SERVICES = {
    "alarms": ("alarms.main", 8101, "linkduty_alarms"),
    "units": ("units.main", 8102, "linkduty_units"),
    "hazards": ("hazards.main", 8103, "linkduty_hazards"),
    "volunteers": ("volunteers.main", 8105, "linkduty_volunteers"),
    "devices": ("devices.main", 8106, "linkduty_devices"),
    "gateway": ("gateway.main", 8104, "linkduty_gateway"),
    "linkage": ("linkage.main", None, "linkduty_linkage"),
}
# Consumer group and topic whose lag each service's autoscaling follows ...
LAG = {
    "alarms": ("alarms", "linkage.commands"),
    "units": ("units", "alarms.events"),
    "linkage": ("linkduty-linkage", "alarms.events"),
}
# ... or CPU: the gateway's one feed writer consumes, so its lag cannot fall with more replicas;
# hazards' load is its HTTP clients (the patrol findings it consumes are a trickle).
CPU = {"gateway", "hazards", "volunteers", "devices"}
# Operator kinds allowed (no schema in kubernetes-validate): anything else must be built in.
CUSTOM_KINDS = {
    ("kafka.strimzi.io/v1beta2", "Kafka"),
    ("kafka.strimzi.io/v1beta2", "KafkaNodePool"),
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"),
    ("kafka.strimzi.io/v1beta2", "KafkaUser"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"),
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("keda.sh/v1alpha1", "ScaledObject"),
}
# What a component's resources carry until the LinkDutyService's values replace it.
PLACEHOLDERS = re.compile(r"\b(SERVICE|GROUP|TOPIC)\b")
LOCAL_CONFIG = "config.kubernetes.io/local-config"


# --- loading and building ---------------------------------------------------------------------

def load_docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def kustomization_files() -> list[Path]:
    return sorted(K8S.rglob("kustomization.yaml"))


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def is_local_config(doc: dict) -> bool:
    return doc["metadata"].get("annotations", {}).get(LOCAL_CONFIG) == "true"


def _kustomize() -> str:
    done = subprocess.run([ROOT / "deploy/tools/kustomize.sh"], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"deploy/tools/kustomize.sh could not provide kustomize:\n{done.stderr}", pytrace=False)
    return done.stdout.strip()


KUSTOMIZE = _kustomize()


def build(directory: Path) -> list[dict]:
    """The resources `kustomize build <directory>` prints."""
    done = subprocess.run([KUSTOMIZE, "build", str(directory)], capture_output=True, text=True)
    assert done.returncode == 0, f"kustomize build {directory.relative_to(ROOT)}:\n{done.stderr}"
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def kn(doc: dict) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def _pod_spec(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]


def topic_name(kafka_topic: dict) -> str:
    return kafka_topic["spec"].get("topicName", kafka_topic["metadata"]["name"])


def container_of(deployment: dict) -> dict:
    (container,) = _pod_spec(deployment)["containers"]
    return container


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    found = [d for d in docs if d["kind"] == kind]
    names = [d["metadata"]["name"] for d in found]
    assert len(names) == len(set(names)), f"duplicate {kind} names: {names}"
    return {d["metadata"]["name"]: d for d in found}


BUILT = {t: build(K8S / t) for t in TARGETS}


def full(overlay: str) -> list[dict]:
    return BUILT[f"overlays/{overlay}"]


# --- kustomizations and files -----------------------------------------------------------------

COMPONENTS = K8S / "components"


@pytest.mark.parametrize("kustomization", kustomization_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_kustomization_lists_existing_files(kustomization):
    spec = yaml.safe_load(kustomization.read_text())
    if kustomization.parent.parent == COMPONENTS:
        assert (spec["apiVersion"], spec["kind"]) == ("kustomize.config.k8s.io/v1alpha1", "Component")
    else:
        assert (spec["apiVersion"], spec["kind"]) == ("kustomize.config.k8s.io/v1beta1", "Kustomization")
    for entry in spec.get("resources", []):
        path = kustomization.parent / entry
        assert path.is_file() or (path / "kustomization.yaml").is_file(), f"{kustomization}: {entry} does not exist"
    for entry in spec.get("components", []):
        path = (kustomization.parent / entry).resolve()
        assert path.parent == COMPONENTS and (path / "kustomization.yaml").is_file(), f"{kustomization}: {entry}"


def test_every_manifest_and_component_is_used():
    listed, used = set(), set()
    for kustomization in kustomization_files():
        spec = yaml.safe_load(kustomization.read_text())
        listed |= {(kustomization.parent / e).resolve() for e in spec.get("resources", [])}
        used |= {(kustomization.parent / e).resolve() for e in spec.get("components", [])}
    orphans = [str(p.relative_to(K8S)) for p in manifest_files() if p.resolve() not in listed]
    assert not orphans, f"manifests no kustomization lists: {orphans}"
    unused = [p.name for p in COMPONENTS.iterdir() if p.resolve() not in used]
    assert not unused, f"components no kustomization uses: {unused}"
    for overlay in OVERLAYS:  # and every manifest ends up in every environment, but local config
        names = {kn(d) for d in full(overlay)}
        for path in manifest_files():
            if path.is_relative_to(COMPONENTS):  # named SERVICE until made a service's (below)
                continue
            docs = load_docs(path)
            assert {kn(d) for d in docs if not is_local_config(d)} <= names, f"{path} is not in overlays/{overlay}"
            assert not {kn(d) for d in docs if is_local_config(d)} & names, f"{path} is local config"


@pytest.mark.parametrize("target", TARGETS)
def test_components_leave_no_placeholder(target):
    rendered = yaml.safe_dump_all(BUILT[target])
    assert not PLACEHOLDERS.findall(rendered), f"{target}: a component's placeholder was not replaced"


def test_each_service_is_made_from_its_values():
    """k8s/base/<service>/values.yaml (a LinkDutyService) is what the components make the
    service's resources of: its name, module, port and the lag it scales on."""
    deployments, scaled = by_kind(BUILT["base"], "Deployment"), by_kind(BUILT["base"], "ScaledObject")
    values = {d["metadata"]["name"]: d for p in (K8S / "base").glob("*/values.yaml") for d in load_docs(p)}
    assert set(values) == set(SERVICES)
    for name, value in values.items():
        assert value["kind"] == "LinkDutyService" and is_local_config(value), name
        spec, container = value["spec"], container_of(deployments[name])
        if "module" in spec:  # an HTTP service (components/http-service)
            assert container["command"] == ["python", "-m", spec["module"]]
            assert container["ports"] == [{"name": "http", "containerPort": spec["port"], "protocol": "TCP"}]
        (trigger,) = scaled[name]["spec"]["triggers"]
        assert ("lag" in spec) == (name in LAG), f"{name}: a lag in values.yaml only for a service scaling on it"
        if "lag" in spec:
            assert (trigger["metadata"]["consumerGroup"], trigger["metadata"]["topic"]) == (spec["lag"]["consumerGroup"], spec["lag"]["topic"])
        else:
            assert trigger["type"] == "cpu", name


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not on PATH")
@pytest.mark.parametrize("target", TARGETS)
def test_kubectl_kustomize_agrees_with_build(target):
    out = subprocess.run(["kubectl", "kustomize", str(K8S / target)], check=True, capture_output=True, text=True).stdout
    key = lambda d: (d["apiVersion"], d["kind"], d["metadata"]["name"])  # noqa: E731
    assert {key(d): d for d in yaml.safe_load_all(out) if d} == {key(d): d for d in BUILT[target]}


# --- schemas ----------------------------------------------------------------------------------

ALL_DOCS = [(f"{t}:{kn(d)}", d) for t in TARGETS for d in BUILT[t]]


@pytest.mark.parametrize("name, doc", ALL_DOCS, ids=[n for n, _ in ALL_DOCS])
def test_resource_validates(name, doc):
    if (doc["apiVersion"], doc["kind"]) in CUSTOM_KINDS:
        assert doc["metadata"]["name"] and isinstance(doc["spec"], dict)
        return
    group = doc["apiVersion"].rpartition("/")[0]
    assert "." not in group or group.endswith(".k8s.io"), f"{name}: unexpected custom kind {doc['apiVersion']}"
    try:
        assert kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True) == KUBERNETES_VERSION.rsplit(".", 1)[0]
    except kubernetes_validate.ValidationError as e:
        pytest.fail(f"{name}: {'.'.join(map(str, e.path))}: {e.message}", pytrace=False)


# --- Kafka ------------------------------------------------------------------------------------

def test_kafka_topics_match_topics_toml():
    expected = {t.name: t for t in configured_topics()}  # topics.toml, each topic and its .dlq
    topics = [d for d in BUILT["infra"] if d["kind"] == "KafkaTopic"]
    names = [topic_name(d) for d in topics]
    assert sorted(names) == sorted(expected), "KafkaTopics differ from topics.toml (or one is there twice)"
    for doc in topics:
        spec = expected[topic_name(doc)]
        assert doc["metadata"]["labels"]["strimzi.io/cluster"] == "linkduty"
        assert doc["spec"]["partitions"] == spec.partitions, spec.name
        assert int(doc["spec"]["config"]["retention.ms"]) == spec.retention_ms, spec.name
        assert doc["spec"]["replicas"] == 3, spec.name
    assert any(n.endswith(".dlq") for n in names)


def test_kafka_cluster_is_kraft_with_three_replicated_nodes():
    infra = BUILT["infra"]
    (kafka,) = by_kind(infra, "Kafka").values()
    config = kafka["spec"]["kafka"]["config"]
    assert config["auto.create.topics.enable"] is False
    assert config["min.insync.replicas"] == 2
    assert "zookeeper" not in kafka["spec"]
    assert kafka["metadata"]["annotations"]["strimzi.io/kraft"] == "enabled"
    pools = [p for p in by_kind(infra, "KafkaNodePool").values()
             if p["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]]
    assert sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"]) >= 3
    assert sum(p["spec"]["replicas"] for p in pools if "controller" in p["spec"]["roles"]) == 3


# --- Deployments ------------------------------------------------------------------------------

def _env(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployments(overlay):
    docs = full(overlay)
    deployments = by_kind(docs, "Deployment")
    assert set(deployments) == set(SERVICES)
    services, pdbs, clusters = by_kind(docs, "Service"), by_kind(docs, "PodDisruptionBudget"), by_kind(docs, "Cluster")
    config = {k: v for cm in by_kind(docs, "ConfigMap").values() for k, v in cm.get("data", {}).items()}
    for name, (module, port, database) in SERVICES.items():
        deployment = deployments[name]
        pod = _pod_spec(deployment)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert "replicas" not in deployment["spec"], f"{name}: KEDA owns replicas"
        assert pod["topologySpreadConstraints"], name
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
        (container,) = pod["containers"]
        assert container["command"] == ["python", "-m", module], name
        assert (ROOT / "services" / name / (module.replace(".", "/") + ".py")).is_file()
        assert container["image"].startswith("registry.example.com/linkduty/linkduty:"), container["image"]
        sc = container["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
        assert sc["runAsNonRoot"] is True and sc["capabilities"]["drop"] == ["ALL"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert any(m["mountPath"] == "/tmp" and "emptyDir" in volumes[m["name"]] for m in container["volumeMounts"])
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][kind]), f"{name}: {kind}"
        assert "livenessProbe" in container and "readinessProbe" in container, name
        env = _env(container)
        for ref in (e["valueFrom"]["configMapKeyRef"] for e in env.values() if "configMapKeyRef" in e.get("valueFrom", {})):
            assert ref["key"] in config, f"{name}: ConfigMap key {ref['key']} missing"
        assert "LINKDUTY_KAFKA_BOOTSTRAP" in env
        assert env["LINKDUTY_SERVICE_NAME"]["value"] == name
        pdb = [p for p in pdbs.values() if p["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(pdb) == 1, f"{name}: {len(pdb)} PodDisruptionBudgets select it"
        if database is None:
            assert "LINKDUTY_PG_DSN" not in env, name
        else:  # from the Secret CloudNativePG writes for the service's own cluster
            ref = env["LINKDUTY_PG_DSN"]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": f"pg-{name}-app", "key": "uri"}, name
            cluster = clusters[ref["name"].removesuffix("-app")]
            assert cluster["spec"]["bootstrap"]["initdb"] == {"database": database, "owner": name}, name
            assert cluster["spec"]["instances"] == 3, name
        if port is None:  # the linkage worker
            assert "ports" not in container
            assert "exec" in container["readinessProbe"]
            for probe in ("startupProbe", "livenessProbe"):  # the worker's heartbeat (linkage/health.py)
                assert container[probe]["exec"]["command"] == ["python", "-m", "linkage.health"], f"{name}: {probe}"
            assert any(m["mountPath"] == env["LINKDUTY_DATA_DIR"]["value"].rsplit("/", 1)[0]
                       and "emptyDir" in volumes[m["name"]] for m in container["volumeMounts"])
            continue
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert list(ports.values()) == [port]
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = container[probe]["httpGet"]
            assert get["path"] == path and ports.get(get["port"], get["port"]) == port, f"{name}: {probe}"
        assert env["LINKDUTY_HOST"]["value"] == "0.0.0.0"
        # a Kafka outage must not stop intake (the outbox holds what is appended meanwhile)
        assert ready_requires(env["LINKDUTY_READY_REQUIRES"]["value"]) == ("postgres",), name
        assert env["LINKDUTY_PORT"]["value"] == str(port)
        (service,) = [s for s in services.values() if s["spec"]["selector"].items() <= labels.items()]
        assert [ports.get(p["targetPort"], p["targetPort"]) for p in service["spec"]["ports"]] == [port]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_database_is_a_cluster_of_its_own(overlay):
    """One CloudNativePG Cluster per service with a database, named and labelled after it, and
    no other (k8s/README.md: one PostgreSQL cluster per service)."""
    clusters = by_kind(full(overlay), "Cluster")
    databases = {name: database for name, (_, _, database) in SERVICES.items() if database}
    assert set(databases) == set(SERVICES)  # today every service keeps its state in PostgreSQL, linkage too
    assert set(clusters) == {f"pg-{name}" for name in databases}
    for name, database in databases.items():
        cluster = clusters[f"pg-{name}"]
        assert cluster["metadata"]["labels"]["linkduty.io/service"] == name
        assert cluster["spec"]["bootstrap"]["initdb"]["database"] == database
        assert cluster["spec"]["minSyncReplicas"] >= 1, f"{name}: a failover must lose no commit"


READY_CHECKS = {"postgres", "kafka"}  # what Runtime.ready() checks and /readyz reports


def ready_requires(value: str) -> tuple[str, ...]:
    """LINKDUTY_READY_REQUIRES as a service reads it (pydantic-settings: a JSON list)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LINKDUTY_READY_REQUIRES", value)
        required = HttpServiceSettings().ready_requires
    assert set(required) <= READY_CHECKS, f"/readyz has no check {set(required) - READY_CHECKS}"
    return required


def test_ready_requires_names_only_checks_readyz_makes():
    assert set(HttpServiceSettings.model_fields["ready_requires"].default) == READY_CHECKS
    with pytest.raises(AssertionError):
        ready_requires('["postgres", "redis"]')


def test_linkage_s_input_topics_are_co_partitioned():
    """linkage routes an alarm's records from both its topics under one lock per partition number
    (hazards.events in the same group), and its consumers get the same partition numbers of each
    (range assignment): the topics must have as many partitions."""
    settings, topics = LinkageSettings(), {topic_name(t): t for t in by_kind(BUILT["infra"], "KafkaTopic").values()}
    partitions = {topics[t]["spec"]["partitions"]
                  for t in (settings.alarms_topic, settings.units_topic, settings.hazards_topic)}
    assert len(partitions) == 1, partitions


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_database_takes_every_replica_s_connection_pool(overlay):
    docs = full(overlay)
    clusters, scaled = by_kind(docs, "Cluster"), by_kind(docs, "ScaledObject")
    default_pool = ServiceSettings.model_fields["pg_pool_max"].default
    deployments = by_kind(docs, "Deployment")
    for name in (name for name, (_, _, database) in SERVICES.items() if database):
        env = _env(container_of(deployments[name]))
        pool = int(env.get("LINKDUTY_PG_POOL_MAX", {}).get("value", default_pool))
        cluster = clusters[env["LINKDUTY_PG_DSN"]["valueFrom"]["secretKeyRef"]["name"].removesuffix("-app")]
        (autoscaler,) = [s for s in scaled.values() if s["spec"]["scaleTargetRef"]["name"] == name]
        needed = autoscaler["spec"]["maxReplicaCount"] * (pool + 2) + 10  # + a service's own connections, + CNPG's
        assert needed <= int(cluster["spec"]["postgresql"]["parameters"]["max_connections"]), f"{overlay}: {name}"


# --- Kafka identities ------------------------------------------------------------------------

def _topics_of(service: str) -> tuple[set[str], set[str], set[str]]:
    """(produced, consumed, consumer groups) of a service, from its settings' defaults (the
    Deployments keep them) and LAG's groups."""
    alarms, units, linkage, gateway = AlarmsSettings(), UnitsSettings(), LinkageSettings(), GatewaySettings()
    hazards, volunteers, devices = HazardsSettings(), VolunteersSettings(), DevicesSettings()
    return {
        "alarms": ({alarms.events_topic}, {alarms.commands_topic, alarms.units_topic, alarms.devices_events_topic},
                   {"alarms", "alarms-arrivals", alarms.device_alarms_group}),
        "units": ({units.events_topic}, {units.alarms_topic}, {"units"}),
        "hazards": ({hazards.events_topic},
                    {hazards.units_events_topic, hazards.alarms_events_topic, hazards.volunteers_events_topic,
                     hazards.devices_events_topic},
                    {hazards.patrol_findings_group, hazards.alarm_context_group, hazards.volunteer_findings_group,
                     hazards.device_troubles_group}),
        "linkage": ({linkage.notifications_topic, linkage.commands_topic},
                    {linkage.alarms_topic, linkage.units_topic, linkage.hazards_topic, linkage.volunteers_topic},
                    {linkage.app_id}),
        "gateway": (set(), {gateway.notifications_topic}, {"gateway"}),
        "volunteers": ({volunteers.events_topic}, {volunteers.alarms_events_topic}, {volunteers.alarm_alerts_group}),
        "devices": ({devices.events_topic}, set(), set()),
    }[service]


def _acls(user: dict, kind: str, operation: str, pattern: str = "literal") -> set[str]:
    return {a["resource"]["name"] for a in user["spec"]["authorization"]["acls"]
            if a["resource"]["type"] == kind and a["resource"].get("patternType", "literal") == pattern
            and operation in a["operations"]}


def test_the_kafka_cluster_authenticates_every_client_and_authorizes_by_acl():
    (kafka,) = by_kind(BUILT["infra"], "Kafka").values()
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    assert listener["tls"] is True and listener["authentication"]["type"] == "scram-sha-512"
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_connects_as_its_own_kafka_user(overlay):
    docs = full(overlay)
    users, settings = by_kind(docs, "KafkaUser"), by_kind(docs, "ConfigMap")["linkduty-settings"]["data"]
    assert settings["LINKDUTY_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert settings["LINKDUTY_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    for name, deployment in by_kind(docs, "Deployment").items():
        env = _env(container_of(deployment))
        assert env["LINKDUTY_KAFKA_USERNAME"]["value"] == name, name
        assert env["LINKDUTY_KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": name, "key": "password"}
        assert users[name]["spec"]["authentication"]["type"] == "scram-sha-512"
        assert users[name]["metadata"]["labels"]["strimzi.io/cluster"] == "linkduty"
        mounts = {m["name"]: m["mountPath"] for m in container_of(deployment)["volumeMounts"]}
        volumes = {v["name"]: v for v in _pod_spec(deployment)["volumes"]}
        assert volumes["kafka-ca"]["secret"]["secretName"] == "linkduty-cluster-ca-cert"
        assert settings["LINKDUTY_KAFKA_CA_FILE"] == mounts["kafka-ca"] + "/ca.crt"


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_s_acls_are_exactly_what_it_produces_and_consumes(service):
    users = by_kind(BUILT["infra"], "KafkaUser")
    topics = {topic_name(t) for t in by_kind(BUILT["infra"], "KafkaTopic").values()}
    produced, consumed, groups = _topics_of(service)
    user = users[service]
    assert _acls(user, "topic", "Write") == produced | {f"{t}.dlq" for t in consumed}
    assert _acls(user, "topic", "Read") == consumed
    assert _acls(user, "group", "Read") == groups
    assert _acls(user, "topic", "Write") | _acls(user, "topic", "Read") <= topics
    # No service creates a topic (every one is a KafkaTopic), nor is allowed a whole prefix.
    acls = user["spec"]["authorization"]["acls"]
    assert not [a for a in acls if "Create" in a["operations"]], f"{service} may create topics"
    assert {a["resource"].get("patternType", "literal") for a in acls} == {"literal"}, service


def test_only_linkage_writes_notifications_and_commands_and_keda_only_describes():
    users = by_kind(BUILT["infra"], "KafkaUser")
    writers = {name for name, u in users.items() if {"linkage.notifications", "linkage.commands"} & _acls(u, "topic", "Write")}
    assert writers == {"linkage"}
    keda = users["keda"]
    assert {op for a in keda["spec"]["authorization"]["acls"] for op in a["operations"]} == {"Describe"}
    assert _acls(keda, "group", "Describe") == {group for group, _ in LAG.values()}
    assert _acls(keda, "topic", "Describe") == {topic for _, topic in LAG.values()}


# --- autoscaling ------------------------------------------------------------------------------

@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scaled_objects(overlay):
    docs = full(overlay)
    deployments = by_kind(docs, "Deployment")
    topics = {topic_name(d): d for d in docs if d["kind"] == "KafkaTopic"}
    (kafka,) = by_kind(docs, "Kafka").values()
    bootstrap = f"{kafka['metadata']['name']}-kafka-bootstrap.{kafka['metadata']['namespace']}.svc:9093"
    scaled = by_kind(docs, "ScaledObject")
    assert {s["spec"]["scaleTargetRef"]["name"] for s in scaled.values()} == set(deployments) == set(LAG) | CPU
    for obj in scaled.values():
        target = obj["spec"]["scaleTargetRef"]
        name = target["name"]
        assert target.get("kind", "Deployment") == "Deployment" and name in deployments
        assert 2 <= obj["spec"]["minReplicaCount"] <= obj["spec"]["maxReplicaCount"]
        (trigger,) = obj["spec"]["triggers"]
        meta = trigger["metadata"]
        assert all(isinstance(v, str) for v in meta.values()), "KEDA trigger metadata values are strings"
        if name in CPU:  # a percentage of the container's CPU request, which it must have
            assert (trigger["type"], trigger["metricType"]) == ("cpu", "Utilization"), kn(obj)
            assert 0 < int(meta["value"]) <= 100
            assert container_of(deployments[name])["resources"]["requests"]["cpu"]
            continue
        assert trigger["type"] == "kafka"
        assert (meta["consumerGroup"], meta["topic"]) == LAG[name]
        assert meta["topic"] in topics, f"{kn(obj)}: no KafkaTopic {meta['topic']}"
        assert meta["bootstrapServers"] == bootstrap
        assert (meta["sasl"], meta["tls"], trigger["authenticationRef"]["name"]) == ("scram_sha512", "enable", "kafka-keda")
        assert obj["spec"]["maxReplicaCount"] <= topics[meta["topic"]]["spec"]["partitions"]


# --- network policies -------------------------------------------------------------------------

def _selects(policy: dict, labels: dict) -> bool:
    selector = policy["spec"]["podSelector"]
    return selector.get("matchLabels", {}).items() <= labels.items() and not selector.get("matchExpressions")


def _to_postgres(rule: dict, cluster: str) -> bool:
    """An egress rule to the pods of this CNPG cluster, on PostgreSQL's port."""
    return (any(peer.get("podSelector", {}).get("matchLabels") == {"cnpg.io/cluster": cluster} for peer in rule.get("to", []))
            and {(p.get("protocol", "TCP"), p["port"]) for p in rule.get("ports", [])} == {("TCP", 5432)})


def _lets_in(policy: dict, cluster: str, service: str) -> bool:
    """A policy on the pods of this CNPG cluster that admits the service's pods on 5432."""
    selects = any(e["key"] == "cnpg.io/cluster" and e["operator"] == "In" and cluster in e["values"]
                  for e in policy["spec"]["podSelector"].get("matchExpressions", []))
    return selects and any(
        peer.get("podSelector", {}).get("matchLabels") == {"app.kubernetes.io/name": service}
        and 5432 in {p["port"] for p in rule.get("ports", [])}
        for rule in policy["spec"].get("ingress", []) for peer in rule.get("from", []))


def test_network_policies():
    docs = BUILT["base"]
    policies = list(by_kind(docs, "NetworkPolicy").values())
    postgres_policies = list(by_kind(BUILT["infra"], "NetworkPolicy").values())
    assert any(p["spec"]["podSelector"] == {} and p["spec"]["policyTypes"] == ["Ingress"] and not p["spec"].get("ingress")
               for p in policies), "no default-deny ingress policy"
    for name, deployment in by_kind(docs, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        mine = [p for p in policies if _selects(p, labels)]
        egress = [r for p in mine if "Egress" in p["spec"]["policyTypes"] for r in p["spec"].get("egress", [])]
        assert any(p["spec"]["policyTypes"] == ["Egress"] and not p["spec"].get("egress") for p in mine), f"{name}: egress not denied by default"
        allowed = {port["port"] for r in egress for port in r.get("ports", [])}
        assert {53, 9093} <= allowed, f"{name}: egress to DNS and Kafka"
        if SERVICES[name][2]:  # its own PostgreSQL cluster, out of its pods and into the cluster's
            assert any(_to_postgres(r, f"pg-{name}") for r in egress), f"{name}: egress to its PostgreSQL"
            assert any(_lets_in(p, f"pg-{name}", name) for p in postgres_policies), f"pg-{name} lets {name} in"
        ingress = [r for p in mine for r in p["spec"].get("ingress", [])]
        port = SERVICES[name][1]
        if port is None:
            assert not ingress, f"{name} takes no connections"
            continue
        assert any("namespaceSelector" in peer and port in {p["port"] for p in r["ports"]}
                   for r in ingress for peer in r["from"]), f"{name}: ingress from the ingress namespace"


# --- secrets ----------------------------------------------------------------------------------

SECRET_PATTERNS = [
    re.compile(r"\w+://[^/\s:@]+:[^@\s]+@"),  # credentials in a URL
    # a key named like a credential with a literal value (automountServiceAccountToken: false is not)
    re.compile(r"(?i)^[\s-]*[\w.-]*(password|passwd|secret|token|api[_-]?key)\s*:\s*(?!(true|false)\s*$)[^\s{]"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
]


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_no_secret_values_in_manifests(path):
    for number, line in enumerate(path.read_text().splitlines(), 1):
        code = line.split("#", 1)[0]
        for pattern in SECRET_PATTERNS:
            assert not pattern.search(code), f"{path}:{number} looks like a secret value: {line.strip()}"
    for doc in load_docs(path):
        assert doc["kind"] != "Secret", f"{path}: Secrets are created in the cluster, not kept in git"
        if doc["kind"] == "Deployment":
            for container in _pod_spec(doc)["containers"]:
                for e in container.get("env", []):
                    if re.search(r"PASSWORD|SECRET|TOKEN|DSN|KEY$", e["name"]):
                        assert "secretKeyRef" in e.get("valueFrom", {}), f"{path}: {e['name']} must come from a Secret"
