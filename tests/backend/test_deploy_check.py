"""Deploy readiness: `check --deploy` with production settings, and `ensure_object_store`."""

import os
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from backend import storage

ROOT = Path(__file__).resolve().parents[2]
CHECK_SCRIPT = (
    "import django; django.setup(); from django.core.management import call_command; "
    "call_command('check', '--deploy', '--fail-level', 'WARNING')"
)
# What docs/operations.md tells operators to set behind the TLS proxy.
PRODUCTION_ENV = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "credit.example.cn",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "SECURE_COOKIES": "1",
}
SECURE_VARIABLES = (*PRODUCTION_ENV, "LOG_FORMAT", "CSRF_TRUSTED_ORIGINS")


def run_deploy_check(**overrides: str) -> subprocess.CompletedProcess:
    """Settings are read once per process: each variant runs in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k not in SECURE_VARIABLES}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "SECRET_KEY": secrets.token_urlsafe(50),
            **overrides,
        }
    )
    return subprocess.run(
        [sys.executable, "-c", CHECK_SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_deploy_check_is_clean_with_production_settings():
    run = run_deploy_check(**PRODUCTION_ENV)

    assert run.returncode == 0, run.stderr
    # Nothing is silenced (SILENCED_SYSTEM_CHECKS is empty): clean means no findings at all.
    assert "System check identified no issues (0 silenced)." in run.stdout


@pytest.mark.slow
def test_deploy_check_names_each_missing_production_setting():
    run = run_deploy_check(DEBUG="0", ALLOWED_HOSTS="credit.example.cn")

    assert run.returncode != 0
    for check_id in ("security.W004", "security.W008"):  # HSTS off, no https redirect
        assert check_id in run.stderr


@pytest.mark.slow
def test_deploy_check_refuses_a_short_secret_key():
    run = run_deploy_check(**{**PRODUCTION_ENV, "SECRET_KEY": "too-short"})

    assert run.returncode != 0
    assert "security.W009" in run.stderr


# --- ensure_object_store --------------------------------------------------------------------


@pytest.fixture
def store_url(settings):
    """Point the settings at another store URL for one test; the store cache follows."""

    def use(url: str) -> None:
        settings.OBJECT_STORE_URL = url
        storage.reset_store()

    yield use
    storage.reset_store()


def test_ensure_object_store_creates_the_folder_then_only_checks_it(store_url, tmp_path, capsys):
    root = tmp_path / "objects"
    store_url(f"file://{root}")

    call_command("ensure_object_store")
    first = capsys.readouterr().out
    call_command("ensure_object_store")
    second = capsys.readouterr().out

    assert root.is_dir()
    assert "bucket created" in first
    assert "bucket already existed" in second


@pytest.mark.services
def test_ensure_object_store_creates_the_s3_bucket_once(store_url, services, capsys):
    bucket = f"t-{uuid.uuid4().hex}"
    url = services.s3_url(bucket=bucket)
    store_url(url)

    call_command("ensure_object_store")
    first = capsys.readouterr().out
    call_command("ensure_object_store")
    second = capsys.readouterr().out

    storage.store_from_url(url, timeout_s=5).check()  # raises unless the bucket exists
    assert "bucket created" in first
    assert "bucket already existed" in second
    assert "secret" not in first.lower()  # the store prints without its credentials


@pytest.mark.services
def test_ensure_object_store_fails_on_refused_credentials(store_url, services):
    store_url(services.s3_url(bucket=f"t-{uuid.uuid4().hex}", secret="wrong-secret"))

    with pytest.raises(CommandError, match="object store not ready"):
        call_command("ensure_object_store")


def test_ensure_object_store_fails_when_the_store_is_unreachable(store_url):
    store_url("s3://key:secret@127.0.0.1:9/bucket?secure=false")  # nothing listens on port 9

    with pytest.raises(CommandError, match="unreachable"):
        call_command("ensure_object_store")
