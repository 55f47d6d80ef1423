"""Fixtures of the API fuzzing: the real data of two regions, and each API's published OpenAPI
document loaded into schemathesis against the in-process WSGI application.

The long pass (`fuzz_long` marker) only runs when asked for: `make fuzz` or `-m fuzz_long`.
"""

import io

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.test import Client

from credit.selectors import clear_snapshot_caches
from credit.signing import signed_headers
from credit.tender_auth import clear_client_cache
from tests.fuzz.world import World, build_world


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "fuzz_long" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="long fuzzing pass: run with `make fuzz` (-m fuzz_long)")
    for item in items:
        if item.get_closest_marker("fuzz_long"):
            item.add_marker(skip)


@pytest.fixture
def world(db, settings) -> World:
    # Requests must see what this test just published, not a cached snapshot of another test.
    settings.CREDIT_LATEST_SNAPSHOT_TTL_S = 0
    clear_snapshot_caches()
    clear_client_cache()
    return build_world()


class SigningApp:
    """A tender platform in front of the application: signs each request exactly as
    `credit.signing` specifies (METHOD, PATH, sorted QUERY, TIMESTAMP, NONCE, SHA-256 of the
    BODY) from the bytes the server will receive. Requests that name a client already (the
    security tests' own) pass through; schemathesis only fills in X-Signature, which is
    replaced."""

    def __init__(self, app: WSGIHandler, *, client_id: str, secret: str) -> None:
        self.app = app
        self.client_id = client_id
        self.secret = secret

    def __call__(self, environ: dict, start_response):
        if "HTTP_X_CLIENT_ID" not in environ:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            # Django's own reading of the path (decoding included) is what the server verifies.
            seen = WSGIRequest({**environ, "wsgi.input": io.BytesIO(body)})
            headers = signed_headers(
                client_id=self.client_id,
                secret=self.secret,
                method=seen.method,
                path=seen.path,
                query_string=environ.get("QUERY_STRING", ""),
                body=body,
            )
            for name, value in headers.items():
                environ["HTTP_" + name.upper().replace("-", "_")] = value
        return self.app(environ, start_response)


def load_schema(path: str, app) -> schemathesis.BaseSchema:
    """The document the API serves at `path`, as phones and platforms download it."""
    response = Client().get(path)
    assert response.status_code == 200, response.content
    schema = schemathesis.openapi.from_dict(response.json())
    schema.app = app
    return schema


@pytest.fixture
def mobile_schema(world):
    return load_schema("/api/mobile/v1/openapi.json", WSGIHandler())


@pytest.fixture
def bureau_schema(world):
    return load_schema("/api/bureau/v1/openapi.json", WSGIHandler())


@pytest.fixture
def tender_schema(world):
    client = world.a.tender_client
    app = SigningApp(WSGIHandler(), client_id=client.client_id, secret=world.a.tender_secret)
    return load_schema("/api/tender/v1/openapi.json", app)
