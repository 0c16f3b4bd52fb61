"""docker-compose.yml, Dockerfile and deploy/ agree with each other and with the docs.

Docker cannot run here, so this checks what compose would be given: a well-formed file,
the services of Dagster's reference layout, the ports and env vars the docs name, and one
instance config shared by every Dagster process.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from trending_assets.settings import TrendingSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE = REPO_ROOT / "docker-compose.yml"
OPERATIONS_DOC = REPO_ROOT / "docs" / "operations.md"
ENV_EXAMPLE = REPO_ROOT / ".env.example"

DAGSTER_SERVICES = ("user_code", "webserver", "daemon")
INTERPOLATION = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?[-?+][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def docs_text() -> str:
    return OPERATIONS_DOC.read_text()


def _environment(service: dict) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the `- KEY=value` form
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {key: (None if value is None else str(value)) for key, value in env.items()}


def _published_ports(service: dict) -> set[int]:
    """Host ports of `ports:` entries: `3000:3000`, `127.0.0.1:9000:9000`, or long form."""
    published = set()
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            published.add(int(entry["published"]))
        else:
            parts = str(entry).split(":")
            published.add(int(parts[-2] if len(parts) > 1 else parts[-1]))
    return published


def _command(service: dict) -> list[str]:
    command = service.get("command", [])
    return command.split() if isinstance(command, str) else [str(part) for part in command]


def test_compose_has_the_reference_services(services: dict) -> None:
    for name in ("postgres", "user_code", "webserver", "daemon", "api", "minio", "minio_init"):
        assert name in services, f"docker-compose.yml lacks service {name!r}"
    # One daemon: a second would run every schedule and sensor twice.
    daemons = [name for name, svc in services.items() if "dagster-daemon" in _command(svc)]
    assert daemons == ["daemon"]
    assert (
        "deploy" not in services["daemon"] or services["daemon"]["deploy"].get("replicas", 1) == 1
    )


def test_service_commands(services: dict) -> None:
    assert _command(services["user_code"]) == [
        "dagster",
        "code-server",
        "start",
        "-h",
        "0.0.0.0",
        "-p",
        "4000",
        "-m",
        "trending_assets.definitions",
        "-a",
        "defs",
    ]
    assert _command(services["webserver"])[0] == "dagster-webserver"
    assert "deploy/workspace.yaml" in _command(services["webserver"])
    assert _command(services["daemon"])[:2] == ["dagster-daemon", "run"]
    assert "deploy/workspace.yaml" in _command(services["daemon"])
    assert _command(services["api"])[:3] == ["python", "-m", "serving"]
    assert "8000" in _command(services["api"])


def test_ports_match_the_docs(services: dict, docs_text: str) -> None:
    assert 3000 in _published_ports(services["webserver"])
    assert 8000 in _published_ports(services["api"])
    for name, service in services.items():
        for port in _published_ports(service):
            assert str(port) in docs_text, (
                f"{name} publishes port {port}; docs/operations.md never names it"
            )


def test_images_match_the_docs(services: dict, docs_text: str) -> None:
    images = {svc["image"] for svc in services.values()}
    for image in images:
        assert f"`{image}`" in docs_text, f"image {image} is not named in docs/operations.md"
    # One image built from the Dockerfile runs every Python service.
    built = {name for name, svc in services.items() if "build" in svc}
    assert {"user_code", "webserver", "daemon", "api"} <= built
    assert len({services[name]["image"] for name in built}) == 1
    assert all(services[name]["build"]["dockerfile"] == "Dockerfile" for name in built)
    assert (REPO_ROOT / "Dockerfile").is_file()


def test_every_variable_is_documented(compose: dict, docs_text: str) -> None:
    """Variables compose reads from the host are in .env.example or the ops doc; TRENDING_*
    variables handed to containers are real settings (a typo would be silently ignored)."""
    raw = COMPOSE.read_text()
    env_example = ENV_EXAMPLE.read_text()
    host_vars = set(INTERPOLATION.findall(raw))
    assert host_vars, "compose interpolates nothing from the host: expected ${VAR:-default} forms"
    undocumented = sorted(v for v in host_vars if v not in env_example and v not in docs_text)
    assert not undocumented, (
        f"compose reads {undocumented} but neither .env.example nor docs/operations.md names them"
    )

    settings_vars = {f"TRENDING_{name.upper()}" for name in TrendingSettings.model_fields}
    container_vars = set()
    for service in compose["services"].values():
        container_vars |= set(_environment(service))
    trending = {v for v in container_vars | host_vars if v.startswith("TRENDING_")}
    unknown = sorted(v for v in trending if v not in settings_vars and v not in env_example)
    assert not unknown, f"{unknown} are neither settings fields nor in .env.example"
    for name in sorted(trending):
        assert name in docs_text or name in env_example, f"{name} is not documented"


def test_dagster_processes_share_one_instance(services: dict) -> None:
    """Webserver, daemon and user code read the same DAGSTER_HOME from the same image, so
    they agree on storage, the run queue and the pool limits."""
    homes = {_environment(services[name]).get("DAGSTER_HOME") for name in DAGSTER_SERVICES}
    assert homes == {"/opt/dagster/dagster_home"}
    assert len({services[name]["image"] for name in DAGSTER_SERVICES}) == 1
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "DAGSTER_HOME=/opt/dagster/dagster_home" in dockerfile
    assert re.search(r"COPY deploy/dagster\.yaml \$\{?DAGSTER_HOME\}?/dagster\.yaml", dockerfile)

    # Every variable deploy/dagster.yaml reads is set for every Dagster service.
    instance_yaml = (REPO_ROOT / "deploy" / "dagster.yaml").read_text()
    needed = set(re.findall(r"env: (\w+)", instance_yaml))
    assert needed
    instance_envs = []
    for name in DAGSTER_SERVICES:
        env = _environment(services[name])
        missing = needed - set(env)
        assert not missing, f"{name} lacks {sorted(missing)} that deploy/dagster.yaml reads"
        instance_envs.append({key: env[key] for key in needed | {"DAGSTER_HOME"}})
    assert all(env == instance_envs[0] for env in instance_envs), "instance settings differ"
    assert instance_envs[0]["DAGSTER_POSTGRES_HOST"] == "postgres"


def test_workspace_points_at_the_user_code_server(services: dict) -> None:
    workspace = yaml.safe_load((REPO_ROOT / "deploy" / "workspace.yaml").read_text())
    (location,) = workspace["load_from"]
    server = location["grpc_server"]
    assert server["host"] == "user_code"
    assert server["host"] in services
    command = _command(services["user_code"])
    assert str(server["port"]) == command[command.index("-p") + 1]
    assert server["location_name"] == "trending_now"  # the name `dagster dev` shows, too


def test_instance_yaml_serialises_warehouse_writers() -> None:
    config = yaml.safe_load((REPO_ROOT / "deploy" / "dagster.yaml").read_text())
    assert set(config["storage"]) == {"postgres"}
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["concurrency"]["pools"]["default_limit"] == 1
    assert config["concurrency"]["runs"]["max_concurrent_runs"] >= 1
    assert config["telemetry"]["enabled"] is False


def test_dependencies_wait_for_health(services: dict) -> None:
    for name in ("postgres", "minio", "user_code", "webserver", "daemon", "api"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
    assert services["user_code"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert (
        services["user_code"]["depends_on"]["minio_init"]["condition"]
        == "service_completed_successfully"
    )
    for name in ("webserver", "daemon"):
        assert services[name]["depends_on"]["user_code"]["condition"] == "service_healthy"


def test_data_volume_is_shared_and_read_only_for_the_api(services: dict) -> None:
    def data_mount(service: dict) -> str:
        (mount,) = [m for m in service["volumes"] if m.split(":")[1] == "/opt/dagster/data"]
        return mount

    writer = data_mount(services["user_code"])
    reader = data_mount(services["api"])
    assert writer.split(":")[0] == reader.split(":")[0]
    assert reader.endswith(":ro")
    assert _environment(services["api"])["TRENDING_DATA_DIR"] == "/opt/dagster/data"


SECRETS = ("TMDB_API_KEY", "OPENAI_API_KEY", "WANDB_API_KEY", "AWS_SECRET_ACCESS_KEY")


def test_secrets_stay_out_of_the_image_and_the_ui(services: dict) -> None:
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    for secret in SECRETS:
        assert secret not in dockerfile
    # API keys reach only the containers that run pipeline code.
    for name in ("user_code", "celery_worker"):
        assert set(SECRETS) <= set(_environment(services[name]))
    for name in ("webserver", "daemon", "api"):
        assert not set(SECRETS) & set(_environment(services[name])), f"{name} gets API keys"
