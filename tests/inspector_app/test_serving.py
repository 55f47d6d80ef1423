"""/m/ serves the built inspector web app from INSPECTOR_APP_BUILD_DIR: the shell revalidated,
hashed assets kept for a year, ETags and 304s, nothing outside assets/, and a clear 503 when
the app was never built. Each test builds a tiny fake build in tmp_path."""

import gzip
import os
from pathlib import Path

import pytest

from backend.middleware import object_store_origin

pytestmark = pytest.mark.django_db

INDEX = "<!doctype html><title>巡查</title><script src='/m/assets/app-3f2a1c.js'></script>"
WORKER = "self.addEventListener('fetch', () => {});"
MANIFEST = '{"name": "物业巡查", "start_url": "/m/", "scope": "/m/"}'
APP_JS = "console.log('app');"
SECRET = "SECRET_KEY = 'do-not-serve'"
IMMUTABLE = "public, max-age=31536000, immutable"
APP_CSP = (
    "default-src 'self'; img-src 'self' data: blob:{origins}; style-src 'self'; "
    "script-src 'self'; worker-src 'self'; connect-src 'self'; manifest-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
APP_PERMISSIONS = (
    "accelerometer=(), camera=(self), geolocation=(self), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.fixture
def build(tmp_path, settings) -> Path:
    """A build as `make app` lays it out, with files beside it that must never be served."""
    root = tmp_path / "build"
    write(root / "index.html", INDEX)
    write(root / "sw.js", WORKER)
    write(root / "manifest.webmanifest", MANIFEST)
    write(root / "assets" / "app-3f2a1c.js", APP_JS)
    write(root / "assets" / "app-9b8e7d.css", "body { margin: 0 }")
    write(root / "assets" / "icons" / "icon-192.png", b"\x89PNG\r\n\x1a\n")
    write(root / "assets" / "icon.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>")
    write(root / "assets" / "font-1a2b.woff2", b"wOF2")
    write(root / "assets" / "strings-77aa.json", '{"ok": "好"}')
    write(root / "assets" / ".hidden.js", APP_JS)
    write(root / "assets" / "notes.html", "<p>not an asset type</p>")
    # Outside assets/, under names an asset could have: only the path rules keep them out.
    write(root / "settings.py", SECRET)
    write(root / "private.json", SECRET)
    write(tmp_path / "secret.js", SECRET)
    settings.INSPECTOR_APP_BUILD_DIR = root
    return root


def app_csp(settings) -> str:
    origin = object_store_origin(settings.OBJECT_STORE_URL)
    return APP_CSP.format(origins=f" {origin}" if origin else "")


# --- the shell ----------------------------------------------------------------------------


def test_the_page_is_index_html_revalidated_on_every_load(client, build, settings):
    response = client.get("/m/")

    assert response.status_code == 200
    assert response.content.decode() == INDEX
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Cache-Control"] == "no-cache"
    assert response["Content-Security-Policy"] == app_csp(settings)
    assert response["Permissions-Policy"] == APP_PERMISSIONS
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_head_answers_like_get_without_a_body(client, build):
    response = client.head("/m/")

    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["ETag"] == client.get("/m/")["ETag"]


def test_the_app_is_only_read_never_posted_to(client, build):
    assert client.post("/m/").status_code == 405


def test_the_service_worker_carries_its_own_policy_and_scope(client, build, settings):
    response = client.get("/m/sw.js")

    assert response.status_code == 200
    assert response.content.decode() == WORKER
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cache-Control"] == "no-cache"
    assert response["Service-Worker-Allowed"] == "/m/"
    # A worker's CSP is the one its own script was served with.
    assert response["Content-Security-Policy"] == app_csp(settings)
    assert "worker-src 'self'" in response["Content-Security-Policy"]
    assert response["Permissions-Policy"] == APP_PERMISSIONS


def test_the_manifest_has_its_own_type(client, build):
    response = client.get("/m/manifest.webmanifest")

    assert response.status_code == 200
    assert response.content.decode() == MANIFEST
    assert response["Content-Type"] == "application/manifest+json"
    assert response["Cache-Control"] == "no-cache"


# --- assets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("app-3f2a1c.js", "text/javascript; charset=utf-8"),
        ("app-9b8e7d.css", "text/css; charset=utf-8"),
        ("icons/icon-192.png", "image/png"),
        ("icon.svg", "image/svg+xml"),
        ("font-1a2b.woff2", "font/woff2"),
        ("strings-77aa.json", "application/json"),
    ],
)
def test_assets_are_typed_by_extension_and_kept_for_a_year(client, build, path, content_type):
    response = client.get(f"/m/assets/{path}")

    assert response.status_code == 200
    assert response.content == (build / "assets" / path).read_bytes()
    assert response["Content-Type"] == content_type
    assert response["Cache-Control"] == IMMUTABLE


def test_an_asset_answers_304_to_its_etag(client, build):
    first = client.get("/m/assets/app-3f2a1c.js")

    again = client.get("/m/assets/app-3f2a1c.js", HTTP_IF_NONE_MATCH=first["ETag"])
    listed = client.get("/m/assets/app-3f2a1c.js", HTTP_IF_NONE_MATCH=f'"x", W/{first["ETag"]}')
    other = client.get("/m/assets/app-3f2a1c.js", HTTP_IF_NONE_MATCH='"0000000000000000"')

    assert first["ETag"].startswith('"') and len(first["ETag"]) == 18
    assert (again.status_code, again.content) == (304, b"")
    assert again["ETag"] == first["ETag"]
    assert again["Cache-Control"] == IMMUTABLE
    assert listed.status_code == 304
    assert (other.status_code, other.content) == (200, APP_JS.encode())


def test_the_shell_answers_304_too_so_a_reload_costs_no_body(client, build):
    etag = client.get("/m/sw.js")["ETag"]

    response = client.get("/m/sw.js", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert response["Cache-Control"] == "no-cache"


def test_a_rebuilt_file_is_served_new_with_a_new_etag(client, build):
    index = build / "index.html"
    before = client.get("/m/")
    index.write_text(INDEX + "<!-- v2 -->", encoding="utf-8")
    # The in-process cache is keyed by modification time: make sure it moved.
    stat = index.stat()
    os.utime(index, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))

    after = client.get("/m/", HTTP_IF_NONE_MATCH=before["ETag"])

    assert after.status_code == 200
    assert after.content.decode().endswith("<!-- v2 -->")
    assert after["ETag"] != before["ETag"]


# --- what is not served -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/m/assets/../settings.py",
        "/m/assets/../private.json",
        "/m/assets/%2e%2e/private.json",
        "/m/assets/%2E%2E%2Fprivate.json",
        "/m/assets/..%2fprivate.json",
        "/m/assets/icons/../../private.json",
        "/m/assets/../../secret.js",
        "/m/assets/%2e%2e/%2e%2e/secret.js",
        "/m/assets/%252e%252e/private.json",
        "/m/assets/..%5cprivate.json",
        "/m/assets/..\\private.json",
        f"/m/assets/{'../' * 30}etc/passwd",
        "/m/assets//etc/passwd",
        "/m/assets//etc/hostname.json",
        "/m/assets/./app-3f2a1c.js",
        "/m/assets/.hidden.js",
        "/m/assets/icons",
        "/m/assets/icons/",
        "/m/assets/notes.html",
        "/m/assets/missing-0000.js",
        "/m/assets/",
        "/m/index.html",
        "/m/settings.py",
        "/m/sw.js/x",
        "/m/anything/else",
    ],
)
def test_only_the_builds_own_files_are_served(client, build, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert b"do-not-serve" not in response.content


def test_a_symlink_out_of_assets_is_not_followed(client, build, tmp_path):
    (build / "assets" / "leak.js").symlink_to(tmp_path / "secret.js")

    response = client.get("/m/assets/leak.js")

    assert response.status_code == 404


def test_a_missing_build_is_a_503_saying_how_to_build(client, settings, tmp_path):
    settings.INSPECTOR_APP_BUILD_DIR = tmp_path / "never-built"

    for path in ("/m/", "/m/sw.js", "/m/manifest.webmanifest", "/m/assets/app-3f2a1c.js"):
        response = client.get(path)

        assert response.status_code == 503, path
        assert response["Content-Type"] == "text/html; charset=utf-8"
        assert response["Cache-Control"] == "no-store"
        page = response.content.decode()
        assert "make app" in page
        assert "尚未构建" in page and "has not been built" in page


def test_a_build_without_its_page_counts_as_not_built(client, build):
    (build / "index.html").unlink()

    assert client.get("/m/").status_code == 503
    assert client.get("/m/assets/app-3f2a1c.js").status_code == 200


# --- compression -----------------------------------------------------------------------------

LONG_JS = "const greeting = '巡查';\n" * 400  # text long enough for gzip to pay


def test_text_is_sent_gzipped_to_browsers_that_accept_it(client, build):
    write(build / "assets" / "app-long.js", LONG_JS)

    packed = client.get("/m/assets/app-long.js", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    plain = client.get("/m/assets/app-long.js")

    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content).decode() == LONG_JS
    assert len(packed.content) < len(LONG_JS.encode()) / 10
    assert "Content-Encoding" not in plain and plain.content.decode() == LONG_JS
    assert "Accept-Encoding" in packed["Vary"] and "Accept-Encoding" in plain["Vary"]
    assert packed["ETag"] != plain["ETag"]  # two representations, two validators


def test_the_gzipped_variant_answers_304_to_its_own_etag(client, build):
    write(build / "assets" / "app-long.js", LONG_JS)
    first = client.get("/m/assets/app-long.js", HTTP_ACCEPT_ENCODING="gzip")

    again = client.get(
        "/m/assets/app-long.js", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=first["ETag"]
    )

    assert again.status_code == 304


@pytest.mark.parametrize("accept", ["gzip;q=0", "br", "identity", "gzip;q=bad"])
def test_a_client_that_refuses_gzip_gets_the_plain_bytes(client, build, accept):
    write(build / "assets" / "app-long.js", LONG_JS)

    response = client.get("/m/assets/app-long.js", HTTP_ACCEPT_ENCODING=accept)

    assert "Content-Encoding" not in response
    assert response.content.decode() == LONG_JS


def test_images_are_not_compressed_again(client, build):
    response = client.get("/m/assets/icons/icon-192.png", HTTP_ACCEPT_ENCODING="gzip")

    assert "Content-Encoding" not in response
    assert "Accept-Encoding" not in response.get("Vary", "")
