"""docker-compose.yml, checked without a Docker engine.

Against the Compose Specification's JSON schema (the copy that check-jsonschema, a dev
dependency, ships; only the file is read, not its CLI), and against the repository: every
service, port and database of deploy/local, the one Dockerfile, the broker settings of the
local stack, and the settings each service's config.py reads.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from alarms.config import AlarmsSettings
from devices.config import DevicesSettings
from hazards.config import HazardsSettings
from gateway.config import GatewaySettings
from linkage.config import LinkageSettings
from units.config import UnitsSettings
from volunteers.config import VolunteersSettings

ROOT = Path(__file__).resolve().parents[3]
LOCAL = ROOT / "deploy" / "local"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
IMAGE = {"build": {"context": ".", "dockerfile": "Dockerfile"}, "image": "linkduty:local"}
INFRA = {"kafka", "postgres", "mosquitto"}  # the only services not built from the Dockerfile
ONE_SHOT = {"kafka-topics", "auth-keys"}  # what ./linkduty up runs before the services
SETTINGS = {"alarms": AlarmsSettings, "units": UnitsSettings, "hazards": HazardsSettings, "linkage": LinkageSettings,
            "gateway": GatewaySettings, "volunteers": VolunteersSettings, "devices": DevicesSettings}


# --- the repository's side --------------------------------------------------------------------

def local_services() -> dict[str, tuple[int | None, str | None, list[str]]]:
    """deploy/local/services.sh's SERVICES: name → (HTTP port, database, module and arguments)."""
    block = re.search(r"^SERVICES=\(\n(.*?)^\)", (LOCAL / "services.sh").read_text(), re.M | re.S).group(1)
    entries = re.findall(r'"([a-z]+)\|(\d+)\|([a-z_-]+)\|([^"]+)"', block)
    assert len(entries) == len(block.strip().splitlines()), "services.sh: an entry this test cannot read"
    return {n: (int(p) or None, None if db == "-" else db, m.split()) for n, p, db, m in entries}


def local_env_names() -> set[str]:
    """The LINKDUTY_* variables services.sh starts a service with."""
    start = re.search(r"^start\(\) \{\n(.*?)^\}", (LOCAL / "services.sh").read_text(), re.M | re.S).group(1)
    return set(re.findall(r"\b(LINKDUTY_[A-Z_]+)=", start))


def local_databases() -> list[str]:
    """deploy/local/databases.txt as stack.sh reads it."""
    names = [re.sub(r"\s", "", line.split("#", 1)[0]) for line in (LOCAL / "databases.txt").read_text().splitlines()]
    return [n for n in names if n]


def read_by(service: str) -> set[str]:
    return {f"LINKDUTY_{name.upper()}" for name in SETTINGS[service].model_fields}


def stack_default(variable: str) -> int:
    return int(re.search(rf"\${{{variable}:-(\d+)}}", (LOCAL / "stack.sh").read_text()).group(1))


def single_node_broker_properties() -> dict[str, str]:
    """server.properties.in as stack.sh writes it for one node, less what names this node."""
    text = (LOCAL / "kafka" / "server.properties.in").read_text().replace("@REPLICATION@", "1").replace("@MIN_ISR@", "1")
    props = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#") and "=" in line)
    for key in ("node.id", "listeners", "advertised.listeners", "inter.broker.listener.name",
                "listener.security.protocol.map", "log.dirs"):  # addresses and paths: the container's own
        del props[key]
    assert not [v for v in props.values() if "@" in v], f"a placeholder this test does not fill: {props}"
    return props


# --- the compose side -------------------------------------------------------------------------

def env(service: str) -> dict[str, str]:
    return SERVICES[service].get("environment", {})


def mounts(service: str) -> list[tuple[str, str, str]]:
    """(source, target, mode) of each short-syntax volume."""
    out = []
    for entry in SERVICES[service].get("volumes", []):
        source, target, *mode = entry.split(":")
        out.append((source, target, mode[0] if mode else "rw"))
    return out


def published(service: str) -> list[tuple[str, int, int]]:
    """(host address, host port, container port) of each port."""
    return [(a, int(h), int(c)) for a, h, c in (p.split(":") for p in SERVICES[service].get("ports", []))]


def compose_schema() -> dict:
    spec = importlib.util.find_spec("check_jsonschema")  # located, not imported
    return json.loads((Path(spec.origin).parent / "builtin_schemas" / "vendor" / "compose-spec.json").read_text())


SCHEMA = compose_schema()
# Its "$schema" (https://json-schema.org/draft-07/schema, no "#") is not a URI jsonschema knows.
assert SCHEMA["$schema"].rstrip("#") == "https://json-schema.org/draft-07/schema"
VALIDATOR = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def schema_errors(doc: dict) -> list[str]:
    return sorted(f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(doc))


# --- the schema -------------------------------------------------------------------------------

def test_the_compose_file_follows_the_compose_specification():
    type(VALIDATOR).check_schema(SCHEMA)
    assert SCHEMA["$id"] == "compose_spec.json"
    assert not schema_errors(COMPOSE), "\n".join(schema_errors(COMPOSE))


def test_check_jsonschema_agrees():
    """The same schema through check-jsonschema's own command, which reads YAML with another
    parser (ruamel.yaml: merge keys, anchors)."""
    done = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
                           str(ROOT / "docker-compose.yml")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path, value", [
    (("services", "alarms", "depends_on", "kafka", "condition"), "service_ready"),  # not a condition
    (("services", "alarms", "dependson"), ["kafka"]),  # not a service key
    (("services", "kafka", "healthcheck", "test"), 42),
    (("volumes", "auth"), "not a volume"),
])
def test_the_schema_refuses_a_broken_file(path, value):
    doc = copy.deepcopy(COMPOSE)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert schema_errors(doc)


# --- services, ports, databases ---------------------------------------------------------------

def test_every_local_service_runs_from_the_one_dockerfile():
    local = local_services()
    assert set(local) == set(SETTINGS)
    assert (ROOT / "Dockerfile").is_file()
    built = {name for name, s in SERVICES.items() if "build" in s}
    assert set(SERVICES) - built == INFRA
    assert built == set(local) | ONE_SHOT
    for name in built:
        assert {k: SERVICES[name][k] for k in IMAGE} == IMAGE, name
    for name, (port, database, module) in local.items():
        service, variables = SERVICES[name], env(name)
        assert service["command"] == ["python", "-m", *module], name
        assert service["restart"] == "unless-stopped", name
        if port is None:
            assert "ports" not in service and "LINKDUTY_PORT" not in variables
            assert service["healthcheck"]["test"] == ["CMD", "python", "-m", "linkage.health"]
        else:
            assert published(name) == [("127.0.0.1", port, port)], name
            assert variables["LINKDUTY_PORT"] == str(port) and variables["LINKDUTY_HOST"] == "0.0.0.0"
            assert f"'http://127.0.0.1:{port}/readyz'" in service["healthcheck"]["test"][-1], name
        if database is None:
            assert "LINKDUTY_PG_DSN" not in variables
        else:
            dsn, pg = urlsplit(variables["LINKDUTY_PG_DSN"]), env("postgres")
            assert (dsn.hostname, dsn.port, dsn.path) == ("postgres", 5432, f"/{database}"), name
            assert (dsn.username, dsn.password) == (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"]), name


def test_ports_are_the_local_stack_s_on_loopback_only():
    assert published("kafka") == [("127.0.0.1", stack_default("LINKDUTY_KAFKA_PORT"), stack_default("LINKDUTY_KAFKA_PORT"))]
    assert published("postgres") == [("127.0.0.1", stack_default("LINKDUTY_PG_PORT"), 5432)]
    assert f"HOST://127.0.0.1:{stack_default('LINKDUTY_KAFKA_PORT')}" in env("kafka")["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert {address for name in SERVICES for address, _, _ in published(name)} == {"127.0.0.1"}


def test_every_local_database_is_created(tmp_path):
    """The init script mounted into the postgres image runs, with a psql that writes down what
    it is given: it must create exactly the databases of databases.txt."""
    pg = env("postgres")
    targets = {source: target for source, target, _ in mounts("postgres")}
    script, listed = targets["./deploy/compose/create-databases.sh"], targets["./deploy/local/databases.txt"]
    assert script.startswith("/docker-entrypoint-initdb.d/") and script.endswith(".sh")
    assert os.access(ROOT / "deploy/compose/create-databases.sh", os.X_OK)  # run, not sourced, by the entrypoint
    assert pg["LINKDUTY_DATABASES"] == listed
    (tmp_path / "psql").write_text('#!/bin/sh\necho "$@" >"$0.args"; cat >"$0.sql"\n')
    (tmp_path / "psql").chmod(0o755)
    subprocess.run(["bash", ROOT / "deploy/compose/create-databases.sh"], check=True, env={
        "PATH": f"{tmp_path}:{os.environ['PATH']}", "POSTGRES_USER": pg["POSTGRES_USER"],
        "LINKDUTY_DATABASES": str(LOCAL / "databases.txt")})
    created = re.findall(r'^CREATE DATABASE (\w+) OWNER "linkduty";$', (tmp_path / "psql.sql").read_text(), re.M)
    assert created == local_databases() and "linkduty_gateway" in created
    assert "--dbname postgres" in (tmp_path / "psql.args").read_text()
    assert pg["POSTGRES_USER"] == "linkduty" and pg["POSTGRES_DB"] == "postgres"  # stack.sh's role, no database of its own
    for name, (_, database, _) in local_services().items():  # every service's database, linkage's too
        if database is not None:
            assert urlsplit(env(name)["LINKDUTY_PG_DSN"]).path == f"/{database}" and database in created, name


def test_postgres_runs_with_the_local_stack_s_settings():
    launch = re.search(r"^pg_launch\(\) \{\n(.*?)^\}", (LOCAL / "stack.sh").read_text(), re.M | re.S).group(1)
    local = set(re.findall(r"-c (\w+=\w+)\b", launch))  # not the addresses and paths ($HOST, $PG_RUN)
    command = SERVICES["postgres"]["command"]
    assert command[0] == "postgres" and command[1::2] == ["-c"] * (len(command) // 2)
    assert set(command[2::2]) == local
    assert "max_connections=300" in command
    assert SERVICES["postgres"]["image"].split(":")[1] in (ROOT / "k8s/infra/postgres/alarms.yaml").read_text()


# --- Kafka ------------------------------------------------------------------------------------

def test_kafka_is_kraft_with_the_local_broker_settings():
    kafka, variables = SERVICES["kafka"], env("kafka")
    version = re.search(r"<kafka.version>(.+)</kafka.version>", (LOCAL / "kafka/pom.xml").read_text()).group(1)
    assert kafka["image"] == f"apache/kafka:{version}"
    assert not [k for k in variables if "ZOOKEEPER" in k]
    for key, value in single_node_broker_properties().items():  # the apache/kafka image's env names
        if key.startswith("controller.quorum."):  # one node: a single voter, itself
            assert variables["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{variables['KAFKA_NODE_ID']}@localhost:9093"
            continue
        assert variables["KAFKA_" + key.upper().replace(".", "_")] == value, key
    assert variables["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "/opt/kafka/bin/kafka-broker-api-versions.sh" in kafka["healthcheck"]["test"]
    listeners = dict(entry.split("://") for entry in variables["KAFKA_ADVERTISED_LISTENERS"].split(","))
    for name in SETTINGS:  # the services bootstrap from the listener advertised to the network
        assert env(name)["LINKDUTY_KAFKA_BOOTSTRAP"] == listeners["INTERNAL"] == "kafka:9092"
    assert [m for m in mounts("kafka") if m[1] == variables["KAFKA_LOG_DIRS"]]


# --- start order and the one-shot steps -------------------------------------------------------

def test_start_order():
    for name, service in SERVICES.items():
        for dependency, how in service.get("depends_on", {}).items():
            assert dependency in SERVICES, f"{name} depends on an unknown {dependency}"
            if how["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[dependency], f"{name} waits for {dependency} to be healthy: it has no healthcheck"
            else:
                assert (how["condition"], dependency in ONE_SHOT) == ("service_completed_successfully", True), name
    for name in ONE_SHOT:
        assert SERVICES[name].get("restart", "no") == "no", f"{name} runs once"
    assert SERVICES["kafka-topics"]["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    for name in SETTINGS:
        expected = {"kafka": "service_healthy", "kafka-topics": "service_completed_successfully",
                    "auth-keys": "service_completed_successfully"}
        if "LINKDUTY_PG_DSN" in env(name):
            expected["postgres"] = "service_healthy"
        if "LINKDUTY_MQTT_HOST" in env(name):
            expected["mosquitto"] = "service_healthy"
        assert {d: how["condition"] for d, how in SERVICES[name]["depends_on"].items()} == expected, name
        assert SERVICES[name]["healthcheck"]["test"][0] == "CMD"


def test_topics_are_created_as_linkduty_up_creates_them():
    linkduty = (ROOT / "linkduty").read_text()
    assert "-m linkduty_shared.messaging.topics --bootstrap" in linkduty
    command = SERVICES["kafka-topics"]["command"]
    assert command[:5] == ["python", "-m", "linkduty_shared.messaging.topics", "--bootstrap", env("alarms")["LINKDUTY_KAFKA_BOOTSTRAP"]]
    # ./linkduty up's factor when stack.env sets none, the one broker's: its topics are replicated once
    assert '--replication-factor "${LINKDUTY_TOPIC_REPLICATION_FACTOR:-1}"' in linkduty
    assert command[5:] == ["--replication-factor", env("kafka")["KAFKA_DEFAULT_REPLICATION_FACTOR"]] == ["--replication-factor", "1"]


def test_the_services_read_the_keys_auth_keys_writes(tmp_path):
    """auth-keys runs the local issuer (as ./linkduty up does); where it writes the JWKS for its
    LINKDUTY_STATE is where every service's LINKDUTY_AUTH_JWKS_FILE points, in the volume auth."""
    assert "-m linkduty_shared.auth.issuer jwks" in (ROOT / "linkduty").read_text()
    assert SERVICES["auth-keys"]["command"] == ["python", "-m", "linkduty_shared.auth.issuer", "jwks"]
    state = env("auth-keys")["LINKDUTY_STATE"]
    printed = subprocess.run([sys.executable, "-m", "linkduty_shared.auth.issuer", "jwks"], check=True, capture_output=True,
                             text=True, env={**os.environ, "LINKDUTY_STATE": str(tmp_path)}).stdout.strip()
    jwks_file = Path(state) / Path(printed).relative_to(tmp_path)
    assert json.loads(Path(printed).read_text())["keys"]  # the issuer did write its public keys there
    writer = [t for s, t, mode in mounts("auth-keys") if s == "auth" and mode == "rw"]
    assert writer and jwks_file.parent == Path(writer[0])
    for name in SETTINGS:
        assert env(name)["LINKDUTY_AUTH_JWKS_FILE"] == str(jwks_file), name
        assert ("auth", str(jwks_file.parent), "ro") in mounts(name), name


def test_mosquitto_lets_in_the_devices_service_and_each_platform_under_its_own_topics(tmp_path):
    """The broker's start script runs (with chown and the broker itself written down, not run):
    the platforms file it makes is one the devices service loads, the service's user logs in
    with the password compose gives both, and each platform may write only its own topics."""
    from devices.platforms import load_platforms

    if not shutil.which("mosquitto_passwd"):
        pytest.fail("mosquitto_passwd missing: deploy/local/stack.sh installs it (apt-get install mosquitto)")
    (tmp_path / "bin").mkdir()
    for tool in ("chown", "mosquitto"):
        (tmp_path / "bin" / tool).write_text(f'#!/bin/sh\necho "$@" >>"{tmp_path}/{tool}.args"\n')
        (tmp_path / "bin" / tool).chmod(0o755)
    out, variables = tmp_path / "linkduty", env("mosquitto")
    targets = {source: target for source, target, _ in mounts("mosquitto")}
    assert SERVICES["mosquitto"]["command"] == ["sh", targets["./deploy/compose/mosquitto.sh"]]
    assert targets["mqtt"] == "/mosquitto/linkduty"
    run = {"PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", "OUT": str(out), **variables}
    subprocess.run(["sh", ROOT / "deploy/compose/mosquitto.sh"], check=True, env=run, cwd=tmp_path)
    platforms = load_platforms(str(out / "platforms.toml"))
    assert set(platforms) == {"demo-iot", "city-iot"}
    devices = env("devices")
    assert devices["LINKDUTY_DEVICE_PLATFORMS_FILE"] == "/var/lib/linkduty/mqtt/platforms.toml"
    assert ("mqtt", "/var/lib/linkduty/mqtt", "ro") in mounts("devices")
    assert devices["LINKDUTY_MQTT_PASSWORD"] == variables["LINKDUTY_MQTT_PASSWORD"]
    assert (devices["LINKDUTY_MQTT_HOST"], devices["LINKDUTY_MQTT_PORT"]) == ("mosquitto", "1883")
    users = {line.split(":", 1)[0] for line in (out / "passwd").read_text().splitlines()}
    assert users == {devices["LINKDUTY_MQTT_USERNAME"], "platform-demo-iot", "platform-city-iot"}
    acl = (out / "acl").read_text()
    assert "user platform-demo-iot\ntopic write linkduty/devices/demo-iot/#\n" in acl
    assert "user linkduty-devices\ntopic read linkduty/devices/#\n" in acl
    assert f"-c {out}/mosquitto.conf" in (tmp_path / "mosquitto.args").read_text()
    assert "allow_anonymous false" in (out / "mosquitto.conf").read_text()
    first = (out / "platforms.toml").read_text()
    subprocess.run(["sh", ROOT / "deploy/compose/mosquitto.sh"], check=True, env=run, cwd=tmp_path)
    assert (out / "platforms.toml").read_text() == first  # made once: the platforms' secrets are kept


# --- settings and the image -------------------------------------------------------------------

@pytest.mark.parametrize("name", SETTINGS)
def test_each_service_gets_the_settings_it_reads(name, monkeypatch):
    """Every LINKDUTY_* variable it is given is a field of its settings (config.py), and every one
    services.sh gives it that it reads, compose gives it too; and they parse."""
    variables, (port, database, _) = env(name), local_services()[name]
    assert set(variables) <= read_by(name), f"{name} reads none of {set(variables) - read_by(name)}"
    local = local_env_names() & read_by(name) - ({"LINKDUTY_PG_DSN"} if database is None else set())
    assert local <= set(variables), f"{name}: services.sh gives it {local - set(variables)} too"
    for key, value in variables.items():
        monkeypatch.setenv(key, value)
    settings = SETTINGS[name]()
    assert settings.kafka_bootstrap == "kafka:9092"
    if port is not None:
        assert (settings.host, settings.port) == ("0.0.0.0", port)
    if database is not None:
        assert settings.pg_dsn.endswith(f"/{database}")


def test_the_image_owns_every_volume_it_mounts():
    """A named volume starts with the owner of its mount point in the image: the services run as
    10001, so each one they write must be made for that user in the Dockerfile."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER 10001:10001" in dockerfile
    made = {d for line in re.findall(r"install -d -o 10001 -g 10001 (.+)", dockerfile) for d in line.split()}
    named = set(COMPOSE["volumes"])
    for name, service in SERVICES.items():
        if "build" not in service:
            continue
        for source, target, mode in mounts(name):
            if source in named and mode == "rw":
                assert target in made, f"{name}: {target} is not made for user 10001 in the Dockerfile"
    assert {source for name in SERVICES for source, _, _ in mounts(name) if not source.startswith(".")} == named
    assert env("linkage")["LINKDUTY_DATA_DIR"] in made  # written by the worker, on the container's filesystem
