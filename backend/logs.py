"""Structured logs: one JSON object per line, tied to the request or task that wrote it.

`RequestContextMiddleware` (backend/middleware.py) binds a request id for the duration of a
request and the Celery signal handlers in backend/observability.py bind the task id and name
for the duration of a task. `ContextFilter` copies both onto every log record, so any
`logger.info(...)` in a service carries them without passing them around.

`RedactSecretsFilter` runs on the handler, after every logger: whatever a message, an
exception or an access-log path contains, bearer tokens, passwords, HMAC signatures, presigned
URL signatures, URL passwords and signed object-link tokens never reach the output.

Settings pick the format with `LOG_FORMAT` (`json` or `plain`; json unless DEBUG).
"""

import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import datetime
from zoneinfo import ZoneInfo

REDACTED = "[REDACTED]"
# A client-chosen request id is echoed into logs and headers: only short tokens of safe
# characters are accepted, anything else (log injection, header splitting) gets a fresh id.
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_task: ContextVar[tuple[str, str] | None] = ContextVar("task", default=None)

# Extra fields the access log and others may pass with `extra=`; everything else a caller
# attaches (Django puts the whole HttpRequest on django.request records) stays out.
EXTRA_FIELDS = ("method", "route", "path", "status", "duration_ms")

_SECRET_PATTERNS: tuple[re.Pattern[str], ...] = (
    # scheme://user:PASSWORD@host (DATABASE_URL, OBJECT_STORE_URL, redis://:PASSWORD@host)
    re.compile(r"(?P<keep>\b[a-z][a-z0-9+.-]*://[^\s/:@]*:)[^\s/@]+(?=@)", re.IGNORECASE),
    # An Authorization header in any notation: `Authorization: Bearer x`, a headers dict,
    # `'HTTP_AUTHORIZATION': 'Bearer x'` from request.META. The scheme goes too.
    re.compile(
        r"(?P<keep>authorization['\"]?\s*[:=]\s*['\"]?)"
        r"(?:(?:bearer|basic|token|digest|hmac)\s+)?[^\s'\",;}]+",
        re.IGNORECASE,
    ),
    re.compile(r"(?P<keep>\bbearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE),
    # key=value and key: value where the key names a secret: access_token, refresh_token,
    # password, client_secret, X-Signature, X-Amz-Signature, X-Amz-Credential, sessionid ...
    re.compile(
        r"(?P<keep>\b[\w-]*(?:token|password|passwd|secret|signature|credential|api[_-]?key"
        r"|sessionid|csrf)[\w-]*['\"]?\s*[:=]\s*['\"]?)[^\s'\"&,;}]+",
        re.IGNORECASE,
    ),
    # Signed object links (/objects/<token>) are bearer credentials for one photo.
    re.compile(r"(?P<keep>/objects/)[^\s/?'\"]+"),
)


def redact(text: str) -> str:
    """`text` with every secret-looking value replaced by [REDACTED]."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(rf"\g<keep>{REDACTED}", text)
    return text


def request_id_from_header(value: str | None) -> str:
    """The client's X-Request-ID when it is a sane token, else a fresh random id."""
    if value and REQUEST_ID_PATTERN.match(value):
        return value
    return uuid.uuid4().hex


@contextmanager
def request_context(request_id: str) -> Iterator[None]:
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


def bind_task(*, task_id: str, task_name: str) -> Token[tuple[str, str] | None]:
    """Mark the current context as running a task; returns what `unbind_task` needs.
    (Celery announces start and end in two separate signals, so no `with` block fits.)"""
    return _task.set((task_id, task_name))


def unbind_task(token: Token[tuple[str, str] | None]) -> None:
    _task.reset(token)


class ContextFilter(logging.Filter):
    """Adds `request_id`, `task_id` and `task` (None outside a request or task) to records."""

    def filter(self, record: logging.LogRecord) -> bool:
        task = _task.get()
        record.request_id = _request_id.get()
        record.task_id, record.task = task if task else (None, None)
        return True


class RedactSecretsFilter(logging.Filter):
    """Renders the message and the traceback once, redacted; formatters then reuse them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        path = getattr(record, "path", None)
        if isinstance(path, str):
            record.path = redact(path)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (ISO 8601 with the offset of `tz`), level, logger, msg,
    request_id, task_id/task inside a task, the access-log fields when given, exc."""

    def __init__(self, *, tz: str = "UTC") -> None:
        super().__init__()
        self._tz = ZoneInfo(tz)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=self._tz).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        task_id = getattr(record, "task_id", None)
        if task_id:
            entry["task_id"] = task_id
            entry["task"] = getattr(record, "task", None)
        for field in EXTRA_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
