"""Locust users of `make load` (run by bench/load/runner.py, which writes the configuration).

- `Inspector`: signs in once, then loops over one inspection: task feed, catalogue (ETag),
  PUT inspection, PUT findings, tus upload of each photo, submit, read back; thinking between
  steps like a person walking a compound.
- `TenderLookup`: signed `GET /api/tender/v1/enterprises/{uscc}` at a constant rate.
- `PublicVisitor`: search, enterprise page and blacklist at a constant rate.

Every request is also appended to the JSON-lines log named in the configuration (time, route,
status, milliseconds, and the body of any error), from which the runner computes its figures.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import gevent
from locust import FastHttpUser, between, constant_throughput, events, task

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from credit.signing import signed_headers  # pure Python: the load generator loads no Django

CONFIG = json.loads(Path(os.environ["LOAD_CONFIG"]).read_text())
DATA = CONFIG["data"]
MOBILE = "/api/mobile/v1"
ERROR_BODY_CHARS = 300
# JPEG markers: start of image, EXIF segment, comment segment.
SOI, APP1, COM = b"\xff\xd8", b"\xff\xe1", b"\xff\xfe"
PHOTOS = [path.read_bytes() for path in sorted(Path(CONFIG["photos_dir"]).glob("*.jpg"))]
# Open for the life of the locust process; closed by the `quitting` listener below.
REQUEST_LOG = Path(CONFIG["request_log"]).open("a", buffering=1024 * 1024)  # noqa: SIM115


@events.request.add_listener
def log_request(
    request_type, name, response_time, response_length, response=None, exception=None, **kw
):
    status = getattr(response, "status_code", 0) or 0
    row = {
        "t": round(kw.get("start_time") or time.time(), 3),
        "route": f"{request_type} {name}",
        "status": status,
        "ms": round(response_time, 2),
    }
    if exception is not None or status >= 400:
        body = getattr(response, "text", "") or ""
        row["error"] = (body or repr(exception))[:ERROR_BODY_CHARS]
    REQUEST_LOG.write(json.dumps(row, ensure_ascii=False) + "\n")


@events.quitting.add_listener
def close_request_log(**_):
    REQUEST_LOG.close()


def unique_photo(base: bytes) -> bytes:
    """The same picture with a comment segment holding a fresh UUID: a distinct file (its own
    SHA-256) as every real photo is, at no encoding cost to the load generator."""
    at = 2
    if base[2:4] == APP1:  # keep EXIF first, where cameras put it
        at = 4 + int.from_bytes(base[4:6], "big")
    comment = uuid.uuid4().bytes
    return base[:at] + COM + (len(comment) + 2).to_bytes(2, "big") + comment + base[at:]


def now_iso(minus_minutes: float = 0) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minus_minutes)).isoformat()


class Inspector(FastHttpUser):
    fixed_count = CONFIG["inspectors"]
    wait_time = between(*CONFIG["think_s"])
    # Each inspector keeps one connection, as a phone does; more would only cost sockets.
    concurrency = 1
    numbers = itertools.count()

    def on_start(self) -> None:
        self.username = DATA["inspectors"][next(Inspector.numbers) % len(DATA["inspectors"])]
        # Sign-ins spread over the ramp, as a shift starts: one costs 0.8 s of server CPU.
        gevent.sleep(random.uniform(0, CONFIG["ramp_s"]))
        signed_in = self.client.post(
            f"{MOBILE}/auth/token",
            json={"username": self.username, "password": DATA["password"], "device_id": "load"},
            name=f"{MOBILE}/auth/token",
        )
        self.token = signed_in.json()["access_token"] if signed_in.status_code == 200 else ""
        self.headers = {"Authorization": f"Bearer {self.token}"}
        self.cursor = None
        # Not `self.tasks`: that is locust's own list of the user's @task methods.
        self.assigned: dict[int, dict] = {}
        self.used_tasks: set[int] = set()
        self.etag = ""
        self.catalogue: list[dict] = []
        if self.token:  # without one every request would only add a 401
            self.sync_catalogue()
            self.sync_tasks()

    def sync_tasks(self) -> None:
        query = f"?cursor={quote(self.cursor)}" if self.cursor else ""
        response = self.client.get(
            f"{MOBILE}/tasks{query}", headers=self.headers, name=f"{MOBILE}/tasks"
        )
        if response.status_code == 200:
            page = response.json()
            self.cursor = page["next_cursor"] or self.cursor
            for item in page["items"]:
                self.assigned[item["id"]] = item

    def sync_catalogue(self) -> None:
        headers = {**self.headers, "If-None-Match": self.etag} if self.etag else self.headers
        response = self.client.get(
            f"{MOBILE}/catalogue", headers=headers, name=f"{MOBILE}/catalogue"
        )
        if response.status_code == 200:
            self.etag = response.headers.get("ETag", "")
            self.catalogue = response.json()["items"]

    @task
    def inspect_one_compound(self) -> None:
        if not self.token:
            return
        self.sync_tasks()
        self.sync_catalogue()
        if not self.assigned or not self.catalogue:
            return
        task_ = random.choice(list(self.assigned.values()))
        inspection = str(uuid.uuid4())
        if not self.put_inspection(inspection, task_):
            return
        self.wait()
        findings = [self.record_finding(inspection) for _ in range(random.randint(1, 2))]
        self.client.post(
            f"{MOBILE}/inspections/{inspection}/submit",
            json={"finished_at": now_iso(), "finding_uuids": findings},
            headers=self.headers,
            name=f"{MOBILE}/inspections/{{uuid}}/submit",
        )
        self.wait()
        self.client.get(
            f"{MOBILE}/inspections/{inspection}",
            headers=self.headers,
            name=f"{MOBILE}/inspections/{{uuid}}",
        )  # locust waits once more before the next loop

    def put_inspection(self, inspection: str, task_: dict) -> bool:
        # A task is named by its first inspection only; later visits are ad hoc.
        task_id = None if task_["id"] in self.used_tasks else task_["id"]
        self.used_tasks.add(task_["id"])
        project = task_["project"]
        response = self.client.put(
            f"{MOBILE}/inspections/{inspection}",
            json={
                "task_id": task_id,
                "project_id": project["id"],
                "started_at": now_iso(minus_minutes=10),
                "location": {"lat": project["lat"], "lon": project["lon"], "accuracy_m": 15.0},
                "note": "",
            },
            headers=self.headers,
            name=f"{MOBILE}/inspections/{{uuid}}",
        )
        return response.status_code in (200, 201)

    def record_finding(self, inspection: str) -> str:
        item = random.choice(self.catalogue)
        photos = [unique_photo(random.choice(PHOTOS)) for _ in range(max(1, item["min_photos"]))]
        slots = [(str(uuid.uuid4()), data) for data in photos]
        finding = str(uuid.uuid4())
        self.client.put(
            f"{MOBILE}/inspections/{inspection}/findings/{finding}",
            json={
                "violation_code": item["code"],
                "description": "压测：现场发现的问题",
                "observed_at": now_iso(),
                "location": None,
                "photos": [
                    {
                        "photo_uuid": photo_uuid,
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "size_bytes": len(data),
                        "content_type": "image/jpeg",
                    }
                    for photo_uuid, data in slots
                ],
            },
            headers=self.headers,
            name=f"{MOBILE}/inspections/{{uuid}}/findings/{{uuid}}",
        )
        for photo_uuid, data in slots:
            self.wait()
            self.upload(photo_uuid, data)
        return finding

    def upload(self, photo_uuid: str, data: bytes) -> None:
        """tus: create, then one PATCH with every byte (a 100–300 KB photo fits one part)."""
        tus = {**self.headers, "Tus-Resumable": "1.0.0"}
        metadata = ",".join(
            f"{key} {value}"
            for key, value in (
                ("photo_uuid", _b64(photo_uuid)),
                ("filename", _b64(f"{photo_uuid}.jpg")),
                ("content_type", _b64("image/jpeg")),
            )
        )
        created = self.client.post(
            f"{MOBILE}/uploads/",
            headers={**tus, "Upload-Length": str(len(data)), "Upload-Metadata": metadata},
            name=f"{MOBILE}/uploads/",
        )
        location = created.headers.get("Location") if created.status_code == 201 else None
        if not location:
            return
        self.client.request(
            "PATCH",
            location,
            data=data,
            headers={
                **tus,
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            },
            name=f"{MOBILE}/uploads/{{id}}",
        )


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class TenderLookup(FastHttpUser):
    fixed_count = CONFIG["tender_users"]
    wait_time = constant_throughput(CONFIG["per_user_rps"])

    @task
    def look_up(self) -> None:
        path = f"/api/tender/v1/enterprises/{random.choice(DATA['usccs'])}"
        headers = signed_headers(
            client_id=DATA["tender_client_id"],
            secret=DATA["tender_secret"],
            method="GET",
            path=path,
        )
        self.client.get(path, headers=headers, name="/api/tender/v1/enterprises/{uscc}")


class PublicVisitor(FastHttpUser):
    fixed_count = CONFIG["public_users"]
    wait_time = constant_throughput(CONFIG["per_user_rps"])

    # Weights: most visitors search and open a firm; fewer browse the blacklist.
    @task(4)
    def search(self) -> None:
        term = quote(random.choice(DATA["search_terms"]))
        self.client.get(f"/credit/?q={term}", name="/credit/?q={term}")

    @task(4)
    def enterprise(self) -> None:
        uscc = random.choice(DATA["usccs"])
        self.client.get(f"/credit/e/{uscc}/", name="/credit/e/{uscc}/")

    @task(2)
    def blacklist(self) -> None:
        self.client.get("/credit/blacklist/", name="/credit/blacklist/")
