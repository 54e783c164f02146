"""The production Kubernetes manifests (k8s/), checked offline.

Built-in kinds are validated (strict: unknown fields fail) against the Kubernetes schemas that
kubernetes-validate ships, so no cluster and no network are needed. Operator resources
(Strimzi, CloudNativePG, KEDA) have no schema there: they are checked against the rest of the
repository instead, above all the KafkaTopics against topics.toml.

Overlays are built by `build()` below, a small subset of kustomize (resources, namespace,
images, JSON 6902 patches with a target): anything else in a kustomization.yaml fails the test
rather than being ignored. When kubectl is on PATH, its own `kubectl kustomize` must agree.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from alarms.config import AlarmsSettings
from gateway.config import GatewaySettings
from linkage.config import LinkageSettings
from linkduty_shared.config import ServiceSettings
from linkduty_shared.messaging.topics import configured_topics
from units.config import UnitsSettings

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "k8s"
KUBERNETES_VERSION = "1.31.0"  # a schema set shipped inside kubernetes-validate (no download)
OVERLAYS = ["staging", "production"]
TARGETS = ["base", "infra", *(f"overlays/{o}" for o in OVERLAYS)]

# Service → (module run as `python -m`, HTTP port or None, PostgreSQL database or None).
SERVICES = {
    "alarms": ("alarms.main", 8101, "linkduty_alarms"),
    "units": ("units.main", 8102, "linkduty_units"),
    "gateway": ("gateway.main", 8104, "linkduty_gateway"),
    "linkage": ("linkage.main", None, None),
}
# Consumer group and topic each service's autoscaling follows.
LAG = {
    "alarms": ("alarms", "linkage.commands"),
    "units": ("units", "alarms.events"),
    "gateway": ("gateway", "linkage.notifications"),
    "linkage": ("linkduty-linkage", "alarms.events"),
}
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
CLUSTER_SCOPED = {"Namespace"}
SUPPORTED_KUSTOMIZATION_KEYS = {"apiVersion", "kind", "namespace", "resources", "images", "patches"}


# --- loading and building ---------------------------------------------------------------------

def load_docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def kustomization_files() -> list[Path]:
    return sorted(K8S.rglob("kustomization.yaml"))


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def _apply_json6902(doc: dict, ops: list[dict]) -> None:
    for op in ops:
        assert op["op"] in ("replace", "add"), f"unsupported patch op {op}"
        *parents, leaf = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].lstrip("/").split("/")]
        node = doc
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if isinstance(node, list):
            node[int(leaf)] = op["value"]
        else:
            if op["op"] == "replace":
                assert leaf in node, f"patch replaces a missing field {op['path']} in {kn(doc)}"
            node[leaf] = op["value"]


def _matches(target: dict, doc: dict) -> bool:
    group = doc["apiVersion"].rpartition("/")[0]
    return ((target.get("kind") in (None, doc["kind"]))
            and (target.get("name") in (None, doc["metadata"]["name"]))
            and (target.get("group") in (None, group)))


def build(directory: Path) -> list[dict]:
    """The resources `kubectl kustomize <directory>` would print (for the features used here)."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED_KUSTOMIZATION_KEYS
    assert not unknown, f"{directory}: build() does not implement {sorted(unknown)}"
    docs: list[dict] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        docs += build(path) if path.is_dir() else [copy.deepcopy(d) for d in load_docs(path)]
    for patch in kustomization.get("patches", []):
        assert set(patch) == {"target", "patch"}, f"{directory}: only inline patches with a target: {patch}"
        hits = [d for d in docs if _matches(patch["target"], d)]
        assert hits, f"{directory}: patch target {patch['target']} matches nothing"
        for d in hits:
            _apply_json6902(d, yaml.safe_load(patch["patch"]))
    for image in kustomization.get("images", []):
        for d in docs:
            for c in _pod_spec(d).get("containers", []) if d["kind"] == "Deployment" else []:
                if c["image"].split(":")[0] == image["name"]:
                    c["image"] = f"{image.get('newName', image['name'])}:{image['newTag']}"
    if "namespace" in kustomization:
        for d in docs:
            if d["kind"] not in CLUSTER_SCOPED:
                d["metadata"]["namespace"] = kustomization["namespace"]
    return docs


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

@pytest.mark.parametrize("kustomization", kustomization_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_kustomization_lists_existing_files(kustomization):
    spec = yaml.safe_load(kustomization.read_text())
    assert spec["kind"] == "Kustomization"
    for entry in spec.get("resources", []):
        path = kustomization.parent / entry
        assert path.is_file() or (path / "kustomization.yaml").is_file(), f"{kustomization}: {entry} does not exist"


def test_every_manifest_is_listed_by_a_kustomization():
    listed = set()
    for kustomization in kustomization_files():
        spec = yaml.safe_load(kustomization.read_text())
        listed |= {(kustomization.parent / e).resolve() for e in spec.get("resources", [])}
    orphans = [str(p.relative_to(K8S)) for p in manifest_files() if p.resolve() not in listed]
    assert not orphans, f"manifests no kustomization lists: {orphans}"
    for overlay in OVERLAYS:  # and every manifest ends up in every environment
        names = {kn(d) for d in full(overlay)}
        for path in manifest_files():
            assert {kn(d) for d in load_docs(path)} <= names, f"{path} is not in overlays/{overlay}"


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
        assert container["command"][:3] == ["python", "-m", module], name
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
        if port is None:  # the linkage worker
            assert "ports" not in container
            assert "exec" in container["readinessProbe"]
            for probe in ("startupProbe", "livenessProbe"):  # the worker's heartbeat (linkage/health.py)
                assert container[probe]["exec"]["command"] == ["python", "-m", "linkage.health"], f"{name}: {probe}"
            assert "LINKDUTY_PG_DSN" not in env
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
        assert json.loads(env["LINKDUTY_READY_REQUIRES"]["value"]) == ["postgres"]  # pydantic-settings reads JSON
        assert env["LINKDUTY_PORT"]["value"] == str(port)
        # The DSN comes from the Secret CloudNativePG writes for the service's own cluster.
        ref = env["LINKDUTY_PG_DSN"]["valueFrom"]["secretKeyRef"]
        assert ref["key"] == "uri" and ref["name"].endswith("-app")
        cluster = clusters[ref["name"].removesuffix("-app")]
        assert cluster["spec"]["bootstrap"]["initdb"]["database"] == database
        assert cluster["spec"]["instances"] == 3
        (service,) = [s for s in services.values() if s["spec"]["selector"].items() <= labels.items()]
        assert [ports.get(p["targetPort"], p["targetPort"]) for p in service["spec"]["ports"]] == [port]


def test_linkage_partitions_match_its_topics():
    container = container_of(by_kind(BUILT["base"], "Deployment")["linkage"])
    partitions = {t.name: t.partitions for t in configured_topics()}
    assert int(_env(container)["LINKDUTY_PARTITIONS"]["value"]) == partitions["alarms.events"] == partitions["units.events"]


def test_linkage_changelog_topics_are_replicated_like_the_others():
    """Faust creates its changelog topics with its own factor (the broker's default does not
    apply): below min.insync.replicas, every table write would fail."""
    container = container_of(by_kind(BUILT["base"], "Deployment")["linkage"])
    (kafka,) = by_kind(BUILT["infra"], "Kafka").values()
    factor = int(_env(container)["LINKDUTY_TOPIC_REPLICATION_FACTOR"]["value"])
    assert factor > int(kafka["spec"]["kafka"]["config"]["min.insync.replicas"])
    assert {t["spec"]["replicas"] for t in by_kind(BUILT["infra"], "KafkaTopic").values()} == {factor}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_database_takes_every_replica_s_connection_pool(overlay):
    docs = full(overlay)
    clusters, scaled = by_kind(docs, "Cluster"), by_kind(docs, "ScaledObject")
    default_pool = ServiceSettings.model_fields["pg_pool_max"].default
    for name, deployment in by_kind(docs, "Deployment").items():
        container = container_of(deployment)
        env = _env(container)
        if "LINKDUTY_PG_DSN" not in env:
            continue
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
    return {
        "alarms": ({alarms.events_topic}, {alarms.commands_topic, alarms.units_topic}, {"alarms", "alarms-arrivals"}),
        "units": ({units.events_topic}, {units.alarms_topic}, {"units"}),
        "linkage": ({linkage.notifications_topic, linkage.commands_topic}, {linkage.alarms_topic, linkage.units_topic},
                    {linkage.app_id}),
        "gateway": (set(), {gateway.notifications_topic}, {"gateway"}),
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
    if service == "linkage":  # Faust's changelog topics: its own prefix, its own to create
        assert _acls(user, "topic", "Create", "prefix") == {LinkageSettings().app_id + "-"}
    else:
        assert not _acls(user, "topic", "Create", "prefix") and not _acls(user, "topic", "Create")


def test_only_linkage_writes_notifications_and_commands_and_keda_only_describes():
    users = by_kind(BUILT["infra"], "KafkaUser")
    writers = {name for name, u in users.items() if {"linkage.notifications", "linkage.commands"} & _acls(u, "topic", "Write")}
    assert writers == {"linkage"}
    keda = users["keda"]
    assert {op for a in keda["spec"]["authorization"]["acls"] for op in a["operations"]} == {"Describe"}
    assert _acls(keda, "group", "Describe") == {group for group, _ in LAG.values()}


# --- autoscaling ------------------------------------------------------------------------------

@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scaled_objects(overlay):
    docs = full(overlay)
    deployments = by_kind(docs, "Deployment")
    topics = {topic_name(d): d for d in docs if d["kind"] == "KafkaTopic"}
    (kafka,) = by_kind(docs, "Kafka").values()
    bootstrap = f"{kafka['metadata']['name']}-kafka-bootstrap.{kafka['metadata']['namespace']}.svc:9093"
    scaled = by_kind(docs, "ScaledObject")
    assert {s["spec"]["scaleTargetRef"]["name"] for s in scaled.values()} == set(deployments)
    for obj in scaled.values():
        target = obj["spec"]["scaleTargetRef"]
        assert target.get("kind", "Deployment") == "Deployment" and target["name"] in deployments
        (trigger,) = obj["spec"]["triggers"]
        meta = trigger["metadata"]
        assert trigger["type"] == "kafka"
        assert (meta["consumerGroup"], meta["topic"]) == LAG[target["name"]]
        assert meta["topic"] in topics, f"{kn(obj)}: no KafkaTopic {meta['topic']}"
        assert meta["bootstrapServers"] == bootstrap
        assert (meta["sasl"], meta["tls"], trigger["authenticationRef"]["name"]) == ("scram_sha512", "enable", "kafka-keda")
        assert all(isinstance(v, str) for v in meta.values()), "KEDA trigger metadata values are strings"
        assert 2 <= obj["spec"]["minReplicaCount"] <= obj["spec"]["maxReplicaCount"]
        assert obj["spec"]["maxReplicaCount"] <= topics[meta["topic"]]["spec"]["partitions"]


# --- network policies -------------------------------------------------------------------------

def _selects(policy: dict, labels: dict) -> bool:
    selector = policy["spec"]["podSelector"]
    return selector.get("matchLabels", {}).items() <= labels.items() and not selector.get("matchExpressions")


def test_network_policies():
    docs = BUILT["base"]
    policies = list(by_kind(docs, "NetworkPolicy").values())
    assert any(p["spec"]["podSelector"] == {} and p["spec"]["policyTypes"] == ["Ingress"] and not p["spec"].get("ingress")
               for p in policies), "no default-deny ingress policy"
    for name, deployment in by_kind(docs, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        mine = [p for p in policies if _selects(p, labels)]
        egress = [r for p in mine if "Egress" in p["spec"]["policyTypes"] for r in p["spec"].get("egress", [])]
        assert any(p["spec"]["policyTypes"] == ["Egress"] and not p["spec"].get("egress") for p in mine), f"{name}: egress not denied by default"
        allowed = {port["port"] for r in egress for port in r.get("ports", [])}
        assert {53, 9093} <= allowed, f"{name}: egress to DNS and Kafka"
        ingress = [r for p in mine for r in p["spec"].get("ingress", [])]
        port = SERVICES[name][1]
        if port is None:
            assert not ingress, f"{name} takes no connections"
            continue
        assert 5432 in allowed, f"{name}: egress to PostgreSQL"
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
