"""Structured logs: request ids, one JSON object per line, task ids, and no secret in output."""

import io
import json
import logging
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.celery import app
from backend.logs import REDACTED, JsonFormatter, redact, request_id_from_header

ROOT = Path(__file__).resolve().parents[2]
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
logger = logging.getLogger("tests.backend.logging")


@app.task(name="tests.logging.logs_a_line")
def logging_task():
    logger.info("processing inside a task")


@pytest.fixture
def log_lines():
    """What the configured console handler (settings.LOGGING: filters, JSON formatter) writes,
    as parsed JSON objects."""
    handler = next(h for h in logging.getLogger().handlers if h.name == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    handler.setStream(previous)


def access_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "backend.access"]


# --- request ids ----------------------------------------------------------------------------


def test_a_sane_request_id_is_kept_and_echoed(client, log_lines):
    response = client.get("/healthz?probe=1", HTTP_X_REQUEST_ID="lb-7f3a.2_x")

    assert response["X-Request-ID"] == "lb-7f3a.2_x"
    assert [line["request_id"] for line in access_lines(log_lines())] == ["lb-7f3a.2_x"]


@pytest.mark.parametrize(
    "given_id",
    ["", "a" * 65, "has space", "line\nbreak", "<script>", "semi;colon", "中文"],
)
def test_an_insane_request_id_is_replaced_by_a_fresh_one(client, given_id):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=given_id)

    assert GENERATED_ID.match(response["X-Request-ID"])


def test_each_request_without_an_id_gets_its_own():
    assert request_id_from_header(None) != request_id_from_header(None)
    assert request_id_from_header("x" * 64) == "x" * 64


# --- JSON lines -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_access_line_per_request_with_its_fields(client, log_lines):
    client.get("/objects/some-signed-token", HTTP_X_REQUEST_ID="req-1")
    client.get("/no/such/page", HTTP_X_REQUEST_ID="req-2")

    lines = access_lines(log_lines())

    assert [(line["request_id"], line["route"], line["status"]) for line in lines] == [
        ("req-1", "objects/<str:token>", lines[0]["status"]),
        ("req-2", "unmatched", 404),
    ]
    first = lines[0]
    assert first["level"] == "INFO"
    assert first["method"] == "GET"
    assert 400 <= first["status"] < 500
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    # The path is logged, but a signed link's token is a credential.
    assert first["path"] == f"/objects/{REDACTED}"
    assert "some-signed-token" not in json.dumps(lines)


def test_timestamp_is_iso_8601_in_the_service_time_zone(log_lines):
    logger.warning("clock check")

    (line,) = log_lines()
    ts = datetime.fromisoformat(line["ts"])
    assert ts.utcoffset() == timedelta(hours=8)  # TIME_ZONE is Asia/Shanghai
    assert abs((datetime.now(ts.tzinfo) - ts).total_seconds()) < 60
    assert (line["level"], line["logger"], line["msg"]) == (
        "WARNING",
        "tests.backend.logging",
        "clock check",
    )
    assert line["request_id"] is None


def test_an_exception_is_logged_with_its_traceback(log_lines):
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        logger.exception("division failed for %s", "firm 42")

    (line,) = log_lines()
    assert line["msg"] == "division failed for firm 42"
    assert line["level"] == "ERROR"
    assert line["exc"].startswith("Traceback (most recent call last)")
    assert "ZeroDivisionError: division by zero" in line["exc"]


def test_a_task_logs_with_its_task_id_and_name(log_lines):
    result = logging_task.apply()
    logger.info("after the task")

    lines = [line for line in log_lines() if line["logger"] == "tests.backend.logging"]
    assert [(line["msg"], line.get("task_id"), line.get("task")) for line in lines] == [
        ("processing inside a task", result.id, "tests.logging.logs_a_line"),
        ("after the task", None, None),
    ]


@app.task(name="tests.logging.retries_once", bind=True, max_retries=1)
def retrying_logging_task(self):
    if self.request.retries == 0:
        raise self.retry(countdown=0)


def test_no_task_id_sticks_to_later_lines_after_a_retried_task(log_lines):
    retrying_logging_task.apply()  # eager: the retry runs nested inside the first run
    logger.info("back in the caller")

    (line,) = [line for line in log_lines() if line["msg"] == "back in the caller"]
    assert "task_id" not in line


def test_log_format_follows_log_format_and_debug():
    def formatter(**env: str) -> str:
        code = "import backend.settings as s; print(s.LOGGING['handlers']['console']['formatter'])"
        run = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "SECRET_KEY": "x" * 50, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        return run.stdout.strip()

    assert formatter(DEBUG="0") == "json"
    assert formatter(DEBUG="1") == "plain"
    assert formatter(DEBUG="1", LOG_FORMAT="json") == "json"
    assert formatter(DEBUG="0", LOG_FORMAT="plain") == "plain"


def test_formatter_keeps_unknown_extras_out():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    record.request = object()  # django.request attaches the HttpRequest itself

    entry = json.loads(JsonFormatter(tz="UTC").format(record))

    assert set(entry) == {"ts", "level", "logger", "msg", "request_id"}
    assert entry["ts"].endswith("+00:00")


# --- secrets --------------------------------------------------------------------------------

SECRET = "s3cr3t-VALUE-9f8e7d"


@pytest.mark.parametrize(
    "template",
    [
        "Authorization: Bearer {s}",
        "headers={{'Authorization': 'Bearer {s}'}}",
        "META {{'HTTP_AUTHORIZATION': 'Bearer {s}', 'REMOTE_ADDR': '1.2.3.4'}}",
        "refresh with bearer {s} failed",
        "password={s}&username=wang",
        '{{"username": "wang", "password": "{s}"}}',
        "access_token={s}",
        '"refresh_token": "{s}"',
        "X-Signature: {s}",
        "client_secret={s}",
        "https://minio:9000/wuye/p/1.jpg?X-Amz-Algorithm=AWS4&X-Amz-Signature={s}&X-Amz-Expires=60",
        "X-Amz-Credential={s}",
        "postgres://wuye:{s}@postgres:5432/wuye",
        "s3://minioadmin:{s}@minio:9000/wuye?secure=false",
        "redis://:{s}@redis:6379/0",
        "GET /objects/{s} 200",
        "sessionid={s}; csrftoken={s}",
    ],
)
def test_redact_removes_the_secret_in_every_notation(template):
    text = template.format(s=SECRET)

    redacted = redact(text)

    assert SECRET not in redacted
    assert REDACTED in redacted


def test_redact_keeps_ordinary_messages_whole():
    text = "enterprise 91150100MA0000001X recomputed: score 87.5, grade A (token family 3 revoked)"

    assert redact(text) == text


@given(
    secret=st.text(
        alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters="-_."),
        min_size=8,
        max_size=40,
    ),
    key=st.sampled_from(["password", "token", "secret", "X-Signature", "X-Amz-Signature"]),
    separator=st.sampled_from(["=", ": ", "=", "': '", '": "']),
)
def test_redact_hides_any_secret_value_after_a_secret_key(secret, key, separator):
    assert secret not in redact(f"request failed {key}{separator}{secret} retry later")


@pytest.mark.django_db
def test_secrets_logged_anywhere_never_reach_the_output(client, log_lines):
    token = "tok-A1b2C3d4E5f6G7h8"
    signature = "a" * 64
    db_password = "pg-Passw0rd-xyz"

    logger.info("login attempt %s", {"username": "wang", "password": db_password})
    logger.warning("tender call X-Signature: %s", signature)
    logger.info(
        "photo link https://minio:9000/wuye/d.jpg?X-Amz-Credential=AK%%2F2025&X-Amz-Signature=%s",
        signature,
    )
    try:
        raise ConnectionError(f"cannot reach postgres://wuye:{db_password}@postgres:5432/wuye")
    except ConnectionError:
        logger.exception("database unavailable")
    client.get("/api/mobile/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")

    output = json.dumps(log_lines())
    for secret in (token, signature, db_password):
        assert secret not in output
    assert output.count(REDACTED) >= 4
