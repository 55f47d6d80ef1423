"""Request middleware: request id, access log and metrics; security headers; refusal of text
the database cannot store; the language of pages.

`RequestContextMiddleware` goes first in MIDDLEWARE so that it times and logs every response,
including the redirects and errors produced by the middleware after it.
"""

import logging
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.utils import translation
from django.utils.cache import patch_vary_headers

from backend.errors import nul_problem, response_for
from backend.logs import request_context, request_id_from_header
from backend.observability import observe_request, route_label
from backend.text import MSG_NUL, MSG_NUL_EN, NUL, Location, nul_location

REQUEST_ID_HEADER = "X-Request-ID"
# Pages have no JavaScript; only the Django admin and the API documentation (Swagger UI served
# from our own static files, since "ninja" is an installed app) load scripts, from 'self'.
SCRIPT_URL_NAMES = frozenset({"openapi-view"})
SCRIPT_APP_NAMES = frozenset({"admin"})
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
# The inspector web app (inspector_app, mounted here by backend.urls) is the one page driven by
# its own scripts: a service worker, a manifest, blob: previews of the photos it takes, calls to
# this site's mobile API, and the camera and position for evidence. Only responses under it get
# that wider policy; every other path keeps the strict one above.
APP_PREFIX = "/m/"
APP_PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(self), geolocation=(self), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
# Responses under these prefixes carry personal data or tokens (inspectors' work, staff
# sessions, sign-in answers) and must not be kept by browsers or shared caches.
NO_STORE_PREFIXES = ("/api/mobile/", "/api/bureau/", "/bureau/")
# Answered in the problem format (the rest are pages and get a short plain-text 400).
API_PREFIX = "/api/"
FORM_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

access_logger = logging.getLogger("backend.access")

Response = HttpResponseBase


class RequestContextMiddleware:
    """Takes a sane `X-Request-ID` or makes one, binds it to every log line of the request,
    echoes it on the response, then records the request's metrics and one access-log line."""

    def __init__(self, get_response: Callable[[HttpRequest], Response]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Response:
        request_id = request_id_from_header(request.headers.get(REQUEST_ID_HEADER))
        with request_context(request_id):
            started = time.perf_counter()
            response = self.get_response(request)
            duration_s = time.perf_counter() - started
            response[REQUEST_ID_HEADER] = request_id
            route = route_label(request)
            observe_request(
                route=route,
                method=request.method or "",
                status=response.status_code,
                duration_s=duration_s,
            )
            duration_ms = round(duration_s * 1000, 1)
            access_logger.info(
                "%s %s %s %.1fms",
                request.method,
                request.path,
                response.status_code,
                duration_ms,
                extra={
                    "method": request.method,
                    "route": route,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                },
            )
        return response


def object_store_origin(url: str) -> str | None:
    """The browser-facing origin of presigned links for an `s3://` OBJECT_STORE_URL; None for
    the folder backend, whose links are served by this site."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.hostname:
        return None
    # The same reading of `secure` as backend.storage.store_from_url.
    secure = parse_qs(parts.query).get("secure", ["true"])[-1].lower() not in ("false", "0", "no")
    port = f":{parts.port}" if parts.port else ""
    return f"{'https' if secure else 'http'}://{parts.hostname}{port}"


def image_origins() -> list[str]:
    """CSP_IMG_ORIGINS when set; else the origin photo links are signed for:
    OBJECT_STORE_PUBLIC_URL, or the OBJECT_STORE_URL host when there is no public address."""
    if settings.CSP_IMG_ORIGINS:
        return list(settings.CSP_IMG_ORIGINS)
    if settings.OBJECT_STORE_PUBLIC_URL:
        public = urlsplit(settings.OBJECT_STORE_PUBLIC_URL)
        return [f"{public.scheme}://{public.netloc}"]
    origin = object_store_origin(settings.OBJECT_STORE_URL)
    return [origin] if origin else []


def content_security_policy(*, scripts: bool, img_origins: list[str]) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            " ".join(["img-src 'self' data:", *img_origins]),
            "style-src 'self'",
            "script-src 'self'" if scripts else "script-src 'none'",
            "object-src 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        )
    )


def app_security_policy(*, img_origins: list[str]) -> str:
    """The web app's policy: its own scripts and worker, blob: photo previews, this site only
    for fetches and the manifest; no plugins, framing or form posts elsewhere, as on pages."""
    return "; ".join(
        (
            "default-src 'self'",
            " ".join(["img-src 'self' data: blob:", *img_origins]),
            "style-src 'self'",
            "script-src 'self'",
            "worker-src 'self'",
            "connect-src 'self'",
            "manifest-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        )
    )


class SecurityHeadersMiddleware:
    """CSP on HTML pages, Permissions-Policy everywhere, `Cache-Control: no-store` on private
    prefixes; the web app's own CSP and Permissions-Policy under APP_PREFIX.
    X-Content-Type-Options, Referrer-Policy, Cross-Origin-Opener-Policy, HSTS and
    X-Frame-Options come from Django's SecurityMiddleware / XFrameOptionsMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], Response]) -> None:
        self.get_response = get_response
        origins = image_origins()
        self.page_policy = content_security_policy(scripts=False, img_origins=origins)
        self.script_policy = content_security_policy(scripts=True, img_origins=origins)
        self.app_policy = app_security_policy(img_origins=origins)

    def __call__(self, request: HttpRequest) -> Response:
        response = self.get_response(request)
        if request.path_info.startswith(APP_PREFIX):
            self._app_headers(response)
        else:
            self._site_headers(request, response)
        if request.path.startswith(NO_STORE_PREFIXES):
            response["Cache-Control"] = "no-store"
        return response

    def _site_headers(self, request: HttpRequest, response: Response) -> None:
        if response.get("Content-Type", "").startswith("text/html"):
            response.setdefault(
                "Content-Security-Policy",
                self.script_policy if _loads_scripts(request) else self.page_policy,
            )
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)

    def _app_headers(self, response: Response) -> None:
        # On every response, not only HTML: a service worker takes its CSP from its own
        # response (sw.js), and on the other files a policy is simply unused.
        response.setdefault("Content-Security-Policy", self.app_policy)
        response.setdefault("Permissions-Policy", APP_PERMISSIONS_POLICY)


def _loads_scripts(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return False
    return match.url_name in SCRIPT_URL_NAMES or bool(SCRIPT_APP_NAMES & set(match.app_names))


class RefuseNulMiddleware:
    """Refuses a request whose path, query string or form fields hold U+0000 before any view
    runs (see `backend.text`): 422 `validation_error` with the field's location under /api/,
    a plain 400 for pages. JSON bodies are checked by the APIs' parser, which reads them."""

    def __init__(self, get_response: Callable[[HttpRequest], Response]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Response:
        loc = _nul_in_request(request)
        if loc is None:
            return self.get_response(request)
        if request.path_info.startswith(API_PREFIX):
            return response_for(nul_problem(loc))
        return HttpResponse(
            f"{MSG_NUL}\n{MSG_NUL_EN}\n", status=400, content_type="text/plain; charset=utf-8"
        )


def _nul_in_request(request: HttpRequest) -> Location | None:
    if NUL in request.path_info:
        return ("path",)
    found = nul_location(_fields(request.GET), ("query",))
    if found is None and _has_form_body(request):
        found = nul_location(_fields(request.POST), ("form",))
    return found


def _has_form_body(request: HttpRequest) -> bool:
    """A page's form post. Django parses a body into request.POST only for POST, so a tus
    PATCH, which streams its body, is never read here; the APIs take JSON only, and their
    bodies are left for ninja to read (and to answer in the problem format when malformed).
    A malformed form is answered 400 by Django, as CsrfViewMiddleware's read would be."""
    return (
        request.method == "POST"
        and request.content_type in FORM_CONTENT_TYPES
        and not request.path_info.startswith(API_PREFIX)
    )


def _fields(data: QueryDict) -> dict[str, str | list[str]]:
    return {key: values[0] if len(values) == 1 else values for key, values in data.lists()}


# Chinese is the site's language whatever the browser says (`Accept-Language` is never read);
# English only when the person chooses it: `?lang=en` on any page, remembered in the language
# cookie (the one Django's `set_language` view at /i18n/setlang/ sets, so both switches agree).
LANGUAGE_PARAM = "lang"
# What `?lang=` accepts → the Django language code.
LANGUAGE_CHOICES = {"zh": "zh-hans", "zh-hans": "zh-hans", "zh-cn": "zh-hans", "en": "en"}
# The BCP 47 tag of each language, for `<html lang>` and `Content-Language`.
LANGUAGE_TAGS = {"zh-hans": "zh-Hans", "en": "en"}
# What the switch link puts in `?lang=` for each language.
LANGUAGE_SWITCH_VALUES = {"zh-hans": "zh", "en": "en"}


def language_tag(code: str) -> str:
    return LANGUAGE_TAGS.get(code, LANGUAGE_TAGS[settings.LANGUAGE_CODE])


def language_switch_url(request: HttpRequest | None, code: str) -> str:
    """The current path and query with `?lang=` set for language `code`: the switch link,
    which works without JavaScript or a form (this page's query alone without a request)."""
    query = request.GET.copy() if request is not None else QueryDict(mutable=True)
    query[LANGUAGE_PARAM] = LANGUAGE_SWITCH_VALUES[code]
    return f"{request.path if request is not None else ''}?{query.urlencode()}"


def _supported(code: str | None) -> str | None:
    """The language a `?lang=` value or a cookie names, None for anything else."""
    if not code:
        return None
    return LANGUAGE_CHOICES.get(code.strip().lower())


class LanguageMiddleware:
    """Replaces Django's LocaleMiddleware, which follows `Accept-Language`. Pages are in
    LANGUAGE_CODE (Chinese) unless `?lang=` or the language cookie chose another; a valid
    `?lang=` is remembered in the cookie, an unknown one is ignored. The JSON APIs are always
    in Chinese (CONTRACTS.md: `detail` is Chinese) and neither read nor set the cookie.
    HTML responses get `Content-Language`, and `Vary: Cookie` since the cookie picks the text."""

    def __init__(self, get_response: Callable[[HttpRequest], Response]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Response:
        api = request.path_info.startswith(API_PREFIX)
        chosen = None if api else _supported(request.GET.get(LANGUAGE_PARAM))
        remembered = None if api else _supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
        language = chosen or remembered or settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response = self.get_response(request)
        finally:
            # Nothing after this request (the next one on this thread, a test's own code)
            # inherits the choice.
            translation.deactivate()
        if chosen is not None:
            _remember(response, chosen)
        if response.get("Content-Type", "").startswith("text/html"):
            response.setdefault("Content-Language", language_tag(language))
            # The web app's files are the same whatever the cookie says.
            if not request.path_info.startswith(APP_PREFIX):
                patch_vary_headers(response, ("Cookie",))
        return response


def _remember(response: Response, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
