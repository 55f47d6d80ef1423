"""The inspector web app at /m/: serves the built files, nothing else. Thin: `files` finds a
file, these views give it its caching headers.

Text files are sent gzip-compressed to clients that accept it (a third of the bytes on a 3G
link). The shell (page, service worker, manifest) is revalidated on every load (`no-cache` +
ETag, so an unchanged file costs a 304) because it names the current assets; the assets have content
hashes in their names and never change, so browsers keep them for a year without asking.
The security headers (the app's CSP and Permissions-Policy) come from
`backend.middleware.SecurityHeadersMiddleware`.
"""

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.views.decorators.http import require_safe

from inspector_app.files import AppFile, NotBuilt, asset_file, shell_file

REVALIDATE = "no-cache"
# A year, the longest a cache honours; `immutable` stops reloads from revalidating.
IMMUTABLE = "public, max-age=31536000, immutable"
NOT_FOUND_TEXT = "未找到 / Not found\n"

logger = logging.getLogger(__name__)


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    return _serve(request, lambda: shell_file("index.html"), cache_control=REVALIDATE)


@require_safe
def service_worker(request: HttpRequest) -> HttpResponse:
    # The worker may control all of /m/ (its own folder; said explicitly so that serving it
    # from elsewhere later cannot silently narrow the scope).
    allowed = {"Service-Worker-Allowed": reverse("inspector_app:index")}
    return _serve(request, lambda: shell_file("sw.js"), cache_control=REVALIDATE, headers=allowed)


@require_safe
def manifest(request: HttpRequest) -> HttpResponse:
    return _serve(request, lambda: shell_file("manifest.webmanifest"), cache_control=REVALIDATE)


@require_safe
def asset(request: HttpRequest, asset: str) -> HttpResponse:
    return _serve(request, lambda: asset_file(asset), cache_control=IMMUTABLE)


def not_found(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(NOT_FOUND_TEXT, status=404, content_type="text/plain; charset=utf-8")
    # A 404 may be a deploy in progress: never let a cache keep it.
    response["Cache-Control"] = REVALIDATE
    return response


def _serve(
    request: HttpRequest,
    lookup: Callable[[], AppFile | None],
    *,
    cache_control: str,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """The file `lookup` finds with its headers, a 304 when the client's ETag matches, 404 when
    there is no such file, 503 when there is no build."""
    try:
        found = lookup()
    except NotBuilt as missing:
        return _not_built(request, str(missing))
    if found is None:
        return not_found(request)
    compressed = found.gzipped is not None and _accepts_gzip(request)
    body, etag = (found.gzipped, found.gzip_etag) if compressed else (found.body, found.etag)
    response = HttpResponse(body, content_type=found.content_type)
    if compressed:
        response["Content-Encoding"] = "gzip"
    if found.gzipped is not None:
        response["Vary"] = "Accept-Encoding"
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    for name, value in (headers or {}).items():
        response[name] = value
    # Django's own If-None-Match handling (weak comparison, `*`, lists): the 304 keeps the
    # ETag and Cache-Control headers of the full answer.
    return get_conditional_response(request, etag=etag, response=response)


def _accepts_gzip(request: HttpRequest) -> bool:
    """Accept-Encoding names gzip (or `*`) with a weight above 0; every browser sends it."""
    for coding in request.headers.get("Accept-Encoding", "").split(","):
        name, *params = (part.strip() for part in coding.split(";"))
        if name.lower() in ("gzip", "*"):
            return _weight(params) > 0
    return False


def _weight(params: list[str]) -> float:
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def _not_built(request: HttpRequest, missing: str) -> HttpResponse:
    # A server without the build is a deploy mistake, not a crash: say how to fix it.
    logger.warning("inspector app not built: %s missing under INSPECTOR_APP_BUILD_DIR", missing)
    response = render(request, "inspector_app/not_built.html", status=503)
    response["Cache-Control"] = "no-store"
    return response
