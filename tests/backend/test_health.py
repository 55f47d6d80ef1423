import pytest

from backend import storage

pytestmark = pytest.mark.django_db


def test_healthz_reports_each_dependency(client, services):
    response = client.get("/healthz")

    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["object_store"]["status"] == "ok"
    # With Redis running the broker is really pinged; in embedded mode tasks run eagerly.
    assert checks["broker"]["status"] == ("ok" if services.is_real("redis") else "eager")


def test_healthz_is_503_when_the_object_store_is_unreachable(client, settings):
    # Port 9 (discard) on loopback: nothing listens there, so the connection is refused at once.
    settings.OBJECT_STORE_URL = "s3://key:secret@127.0.0.1:9/bucket?secure=false"
    storage.reset_store()
    try:
        response = client.get("/healthz")
    finally:
        storage.reset_store()

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["object_store"]["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"
