"""Fixtures of the API fuzzing: the real data of two regions, and each API's published OpenAPI
document loaded into schemathesis against the in-process WSGI application.

The long pass (`fuzz_long` marker) only runs when asked for: `make fuzz` or `-m fuzz_long`.
"""

import io

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import strategies as st

from credit.models import Snapshot
from credit.selectors import clear_snapshot_caches
from credit.signing import signed_headers
from credit.tender_auth import clear_client_cache
from tests.fuzz.world import World, build_world

# tus PATCH bodies: raw bytes of any length up to a few parts' worth of a photo.
schemathesis.openapi.media_type("application/offset+octet-stream", st.binary(max_size=4096))


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


API_DOCUMENTS = {
    "mobile": "/api/mobile/v1/openapi.json",
    "bureau": "/api/bureau/v1/openapi.json",
    "tender": "/api/tender/v1/openapi.json",
}


def real_ids(world: World) -> dict[str, object]:
    """Path parameter values that name region A's real objects."""
    a = world.a
    return {
        "inspection_uuid": str(a.inspection.uuid),
        "finding_uuid": str(a.finding.uuid),
        "photo_uuid": str(a.photo.uuid),
        "upload_id": str(a.photo.uploads.get().id),
        "record_id": a.record.id,
        "uscc": a.enterprise_uscc,
        "snapshot_id": Snapshot.objects.latest("id").id,
    }


def with_examples(document: dict, examples: dict[str, object]) -> dict:
    """The document with `examples` as the example of every path parameter of that name, so
    that schemathesis' example phase reaches real objects besides the random ids it makes."""
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in examples:
                    parameter["example"] = examples[parameter["name"]]
    return document


@pytest.fixture
def documents(world) -> dict[str, dict]:
    """Each API's OpenAPI document as the API serves it to phones and platforms."""
    served = {}
    for name, path in API_DOCUMENTS.items():
        response = Client().get(path)
        assert response.status_code == 200, response.content
        served[name] = with_examples(response.json(), real_ids(world))
    return served


@pytest.fixture
def wsgi_app(documents):
    """The real WSGI application, minus what Django's test client also switches off: the
    connection clean-up around each request, which would close the test's open transaction.
    (After `documents`: the test client reconnects the clean-up when it is done.)"""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield WSGIHandler()
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def schema_for(document: dict, app) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_dict(document)
    schema.app = app
    return schema


@pytest.fixture
def mobile_schema(documents, wsgi_app):
    return schema_for(documents["mobile"], wsgi_app)


@pytest.fixture
def bureau_schema(documents, wsgi_app):
    return schema_for(documents["bureau"], wsgi_app)


@pytest.fixture
def tender_schema(world, documents, wsgi_app):
    client = world.a.tender_client
    app = SigningApp(wsgi_app, client_id=client.client_id, secret=world.a.tender_secret)
    return schema_for(documents["tender"], app)
