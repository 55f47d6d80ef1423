"""The production container files refer only to things that exist in the project."""

import importlib
import importlib.util
import json
import os
import re
import shlex
import time
from pathlib import Path

import pytest
import yaml
from celery import Celery
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
COMPOSE = yaml.safe_load((DOCKER / "compose.yaml").read_text())
SERVICES: dict[str, dict] = COMPOSE["services"]
DOCKERFILE = (DOCKER / "Dockerfile").read_text()
APP_ROOT = "/app/"
APP_SERVICES = sorted(name for name, s in SERVICES.items() if "build" in s)


def load_healthcheck_module():
    spec = importlib.util.spec_from_file_location("healthcheck", DOCKER / "healthcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dockerfile_instructions(keyword: str) -> list[str]:
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    return [
        line.split(None, 1)[1]
        for line in joined.splitlines()
        if line.strip() and line.split(None, 1)[0] == keyword
    ]


def copied_paths() -> dict[str, str]:
    """COPY sources → their destination inside the image."""
    copied = {}
    for args in dockerfile_instructions("COPY"):
        *sources, destination = shlex.split(args)
        for source in sources:
            target = destination
            if destination.endswith("/"):
                target = destination + Path(source).name
            copied[source] = str(Path("/app") / target) if not target.startswith("/") else target
    return copied


def command_of(service: dict) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else list(command)


def test_the_expected_services_exist():
    assert set(SERVICES) >= {"minio", "minio-init", "postgres", "redis", "migrate", "web"}
    assert {"worker", "beat"} <= set(SERVICES)
    assert SERVICES["postgres"]["image"] == "postgres:15"
    assert SERVICES["minio"]["image"].startswith("minio/minio")
    assert SERVICES["minio-init"]["image"].startswith("minio/mc")


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_long_running_service_has_a_healthcheck(name):
    service = SERVICES[name]
    healthcheck = service["healthcheck"]
    if healthcheck.get("disable"):
        # Only one-off jobs go without one, and the app waits for them to finish.
        assert service["restart"] == "no"
        waiters = [
            other
            for other in SERVICES.values()
            if other.get("depends_on", {}).get(name, {}).get("condition")
            == "service_completed_successfully"
        ]
        assert waiters, f"nothing waits for one-off service {name}"
    else:
        assert healthcheck["test"][0] in {"CMD", "CMD-SHELL"}
        assert len(healthcheck["test"]) > 1


def test_every_dependency_names_a_service_with_a_usable_condition():
    for name, service in SERVICES.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            if rule["condition"] == "service_healthy":
                assert not SERVICES[dependency]["healthcheck"].get("disable")


def test_named_volumes_are_declared_and_used():
    declared = set(COMPOSE["volumes"])
    used = {
        volume.split(":", 1)[0]
        for service in SERVICES.values()
        for volume in service.get("volumes", [])
        if not volume.startswith((".", "/"))
    }
    assert used == declared
    for name in ("postgres", "redis", "minio"):
        assert SERVICES[name]["volumes"], f"{name} keeps its data in a volume"


def test_web_runs_the_projects_wsgi_application():
    command = command_of(SERVICES["web"])
    assert command[0] == "gunicorn"
    module_name, attribute = command[1].split(":")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attribute))
    config = command[command.index("--config") + 1]
    assert config in copied_paths().values()


@pytest.mark.parametrize(("name", "subcommand"), [("worker", "worker"), ("beat", "beat")])
def test_worker_and_beat_run_the_projects_celery_app(name, subcommand):
    command = command_of(SERVICES[name])
    assert command[:2] == ["celery", "-A"]
    # `celery -A backend` finds the app as backend.celery.app.
    app = importlib.import_module(f"{command[2]}.celery").app
    assert isinstance(app, Celery)
    assert command[3] == subcommand


def test_the_beat_schedule_lives_in_its_volume_and_where_the_healthcheck_looks():
    command = command_of(SERVICES["beat"])
    schedule = command[command.index("--schedule") + 1]
    assert schedule == str(load_healthcheck_module().BEAT_SCHEDULE)
    mount = SERVICES["beat"]["volumes"][0].split(":")[1]
    assert schedule.startswith(mount + "/")


def test_manage_py_commands_used_by_services_exist():
    for name in APP_SERVICES:
        command = command_of(SERVICES[name])
        if command[:2] == ["python", "manage.py"]:
            assert command[2] in get_commands(), f"{name}: no manage.py command {command[2]}"
    assert command_of(SERVICES["migrate"])[:3] == ["python", "manage.py", "migrate"]


def healthcheck_commands() -> dict[str, list[str]]:
    """Each health check's argv: the app services' in compose and the image's own."""
    commands = {
        name: SERVICES[name]["healthcheck"]["test"][1:]
        for name in APP_SERVICES
        if not SERVICES[name]["healthcheck"].get("disable")
    }
    image_check = dockerfile_instructions("HEALTHCHECK")[0]
    commands["Dockerfile"] = json.loads(image_check[image_check.index("CMD") + 3 :])
    return commands


def test_healthchecks_call_existing_checks_in_copied_files():
    checks = load_healthcheck_module().CHECKS
    copied = copied_paths().values()
    commands = healthcheck_commands()
    assert set(commands) == {"Dockerfile", "web", "worker", "beat"}
    for name, argv in commands.items():
        assert argv[0] == "python", name
        assert argv[1] in copied, name
        assert argv[2] in checks, name


def test_every_copied_source_exists_and_is_not_ignored():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "!"))
    }
    for source in copied_paths():
        assert (ROOT / source).exists(), f"COPY {source}: missing"
        assert source not in ignored and source.split("/")[0] not in ignored, source


def test_app_container_paths_exist_in_the_project():
    copied = copied_paths()
    for name in APP_SERVICES:
        for argument in command_of(SERVICES[name]):
            if argument.startswith(APP_ROOT) and not argument.startswith("/app/var/"):
                assert argument in copied.values(), f"{name}: {argument} is not in the image"
                source = next(s for s, target in copied.items() if target == argument)
                assert (ROOT / source).is_file()


def test_the_image_runs_as_a_non_root_user_after_installing():
    users = dockerfile_instructions("USER")
    assert users and users[-1] not in {"root", "0"}
    assert DOCKERFILE.index("USER ") > DOCKERFILE.rindex("RUN ")
    assert dockerfile_instructions("FROM") == ["python:3.11-slim"]
    assert "HEALTHCHECK" in DOCKERFILE
    assert "collectstatic" in dockerfile_instructions("RUN")[-1]
    assert dockerfile_instructions("CMD") == [
        '["gunicorn", "backend.wsgi:application", "--config", "/app/docker/gunicorn.conf.py"]'
    ]


def test_every_setting_read_from_the_environment_is_documented():
    settings_source = (ROOT / "backend" / "settings.py").read_text()
    read = set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\"", settings_source))
    documented = set(
        re.findall(r"^#?\s?([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M)
    )
    assert read, "no variables found in settings.py"
    assert read - documented == set()


def test_every_compose_variable_is_documented():
    text = (DOCKER / "compose.yaml").read_text()
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    documented = set(
        re.findall(r"^#?\s?([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M)
    )
    assert used - documented == set()


def test_the_gunicorn_configuration_loads_with_sane_values(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "")
    namespace: dict = {}
    exec((DOCKER / "gunicorn.conf.py").read_text(), namespace)

    assert namespace["workers"] >= 3
    assert namespace["timeout"] > 30
    assert namespace["bind"] == "0.0.0.0:8000"


@pytest.mark.parametrize(
    ("allowed", "host"),
    [
        ("wuye.example.cn,localhost", "wuye.example.cn"),
        (".example.cn", "example.cn"),
        ("*", "localhost"),
    ],
)
def test_the_web_healthcheck_sends_an_allowed_host(monkeypatch, allowed, host):
    monkeypatch.setenv("ALLOWED_HOSTS", allowed)

    assert load_healthcheck_module().allowed_host() == host


def test_the_beat_healthcheck_follows_the_schedule_files_age(monkeypatch, tmp_path):
    module = load_healthcheck_module()
    schedule = tmp_path / "celerybeat-schedule"
    monkeypatch.setattr(module, "BEAT_SCHEDULE", schedule)
    assert module.check_beat() is False

    schedule.write_bytes(b"shelve")
    assert module.check_beat() is True

    stale = time.time() - module.BEAT_STALE_S - 1
    os.utime(schedule, (stale, stale))
    assert module.check_beat() is False


def test_the_healthcheck_refuses_an_unknown_mode():
    assert load_healthcheck_module().main(["healthcheck.py", "db"]) == 2
