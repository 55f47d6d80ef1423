"""Authentication pieces shared by the mobile and bureau APIs: bearer auth and login throttle."""

import hashlib
import logging
import time

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja.security import HttpBearer

from backend.errors import Problem
from backend.tokens import token_authenticate

logger = logging.getLogger(__name__)

ERR_INVALID_CREDENTIALS = "用户名或密码错误。"
ERR_TOO_MANY_ATTEMPTS = "登录失败次数过多，请稍后再试。"


class BearerAuth(HttpBearer):
    """Accepts access tokens issued for one audience; sets request.user and request.token_family."""

    def __init__(self, audience: str) -> None:
        super().__init__()
        self.audience = audience

    def authenticate(self, request: HttpRequest, token: str):
        found = token_authenticate(raw=token, audience=self.audience)
        if found is None:
            return None
        request.user = found.user
        request.token_family = found.family
        return found.user


def _failure_key(username: str) -> str:
    # Hashed: usernames are user input, and cache keys must stay short and plain ASCII.
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()
    return f"login-failures:{digest}"


def _recent_failures(username: str) -> list[float]:
    cutoff = time.time() - settings.LOGIN_FAILURE_WINDOW_S
    try:
        stored = cache.get(_failure_key(username), [])
    except Exception:  # cache (Redis) down: see _remember
        logger.warning("login throttle unavailable (cache unreachable); not counting")
        return []
    return [t for t in stored if t > cutoff]


def _remember(username: str, failures: list[float] | None) -> None:
    """Store (or with None clear) the failures. With the cache down the throttle fails open:
    inspectors in the field must still be able to sign in while Redis is restarted, and the
    password check itself still runs; the outage is visible in logs and on /healthz."""
    try:
        if failures is None:
            cache.delete(_failure_key(username))
        else:
            cache.set(_failure_key(username), failures, timeout=settings.LOGIN_FAILURE_WINDOW_S)
    except Exception:
        logger.warning("login throttle unavailable (cache unreachable); not counting")


def login_check(*, username: str, password: str) -> AbstractBaseUser:
    """Password check with a per-username limit: 5 failures in 15 minutes lock it until the oldest
    failure leaves the window. Counted per username (not per IP) because inspectors share carrier
    NAT addresses."""
    failures = _recent_failures(username)
    if len(failures) >= settings.LOGIN_MAX_FAILURES:
        retry_after = int(failures[0] + settings.LOGIN_FAILURE_WINDOW_S - time.time()) + 1
        raise Problem(
            429,
            "too_many_attempts",
            ERR_TOO_MANY_ATTEMPTS,
            headers={"Retry-After": str(max(retry_after, 1))},
        )
    user = authenticate(username=username, password=password)
    if user is None:
        failures.append(time.time())
        _remember(username, failures)
        raise Problem(401, "invalid_credentials", ERR_INVALID_CREDENTIALS)
    _remember(username, None)
    return user


class ThrottledAuthenticationForm(AuthenticationForm):
    """The bureau web login: the same per-username throttle as the APIs' sign-in."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        password = self.cleaned_data.get("password") or ""
        if username and password:
            try:
                self.user_cache = login_check(username=username, password=password)
            except Problem as problem:
                raise ValidationError(problem.detail, code=problem.code) from problem
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data
