"""Benchmark: the inspector web app (/m/) as a phone meets it: its size, how soon it opens on a
slow link, and how much of a flaky link's bandwidth its photo uploads keep.

    python bench/bench_inspector_app.py [--runs 5] [--photos 20] [--min-mb 1.5] [--max-mb 3]
                                        [--rate-mb 2] [--drop-every-mb 2] [--gunicorn gthread:5:4]

Starts PostgreSQL (production durability), Redis and SeaweedFS on loopback, migrates a fresh
database, starts gunicorn with docker/gunicorn.conf.py (the production settings: DEBUG off,
no compression middleware) and drives the system Chromium with Playwright through
`tests/browser/link_proxy.LinkProxy`, a loopback proxy that every byte of the app crosses.
Measures:

1. **Shell size.** Each file the service worker precaches (and sw.js itself) is fetched as a
   browser would (`Accept-Encoding: gzip, deflate, br`): the bytes served (Django sends them
   uncompressed, and no proxy in docker/compose.yaml compresses them, so these are the bytes on
   the wire), and their `gzip -9` size. The shell is index.html + the app's script + its style
   sheet (what must arrive before the app runs); the precache total adds the manifest and the
   icons. Both against the issue's budget of 300 KB gzipped (300,000 bytes).
2. **Time to interactive on "Regular 3G"** (Chrome DevTools' profile: 750 kbit/s down, 250
   kbit/s up, 100 ms latency, set with CDP `Network.emulateNetworkConditions` on the page):
   from the start of navigation (`performance.now()`'s origin) until `html[data-ready=true]` is
   set and the sign-in field `#username` has a layout box, recorded in the page by a
   MutationObserver, so polling adds nothing. Cold: a fresh browser context (no cache, no
   service worker). Warm: the second load in that context, once the service worker is active
   and its precache complete. Offline: the second load in another context after the first
   one, with the context offline (`BrowserContext.set_offline`) and the proxy refusing every
   connection: the app must still open. Baseline in the same run and on the same throttled
   link: a trivial page to its load event, cold (fresh context) and warm (second load): the
   smallest document of the precache (the app's SVG icon, a few hundred bytes from the same
   Django view, with a fresh query string each load so that no cache answers it; /healthz
   is not trivial, it checks the database, the broker and the object store). Each N times
   after one round that is not counted; median and p95 (nearest rank).
3. **Upload goodput on a flaky link.** An inspector signs in through the app, starts the task
   of a compound, records two findings with 10 photos each (real JPEGs made here with Pillow
   from a gradient plus Gaussian noise, so they do not compress away; 1.5–3 MiB, under the
   server's 25 MiB) and presses 完成巡查. The proxy paces upstream bytes to a fixed rate (per
   connection, the connections open at that moment cut first so none starts with credit) and,
   in the second run, cuts the connection every 2 MiB sent. Goodput = photo bytes ÷ wall time
   from the press until every photo on the device is `processing` (the server has it; the app
   says `accepted` once processed); ratio drops ÷ no drops, target ≥ 0.8. Afterwards the
   database must show each photo once, `received` with its SHA-256, one completed upload whose
   parts are contiguous from 0 to the photo's length. The tus requests gunicorn answered in
   each run (from its access log, so LOG_LEVEL is INFO here) show what the cuts cost: a
   browser silently resends a request whose reused connection died before an answer, so a cut
   PATCH comes back whole from its old offset and is refused (409, or 423 while the cut one
   is still being committed) before the client HEADs and continues.

Before anything is timed, rounds of parallel requests reach every gunicorn worker once: each
imports the URLconf (ninja's routers and schemas) on its first request, 2–7 s on this machine,
which would otherwise land in whichever load met a fresh worker.

No Celery worker runs (a photo counts as arrived when the server has received it), so the
processing messages wait in Redis. The whole run takes about 2.5 minutes on the 2-core machine.
Writes bench/results/inspector_app.json.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import requests
from _common import ROOT, gunicorn, machine, percentile, write_result
from bench_tender import parse_settings
from bench_uploads import running_services
from PIL import Image

from tests.browser.inspector_phone import InspectorApp, phone_context
from tests.browser.link_proxy import LinkProxy

RESULTS_PATH = ROOT / "bench" / "results" / "inspector_app.json"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox"]
MIB = 1024 * 1024
# The issue's budget: "300 KB gzipped", read as 300,000 bytes (the stricter reading).
BUDGET_GZIP_BYTES = 300_000
# Chrome DevTools' "Regular 3G": 750 kbit/s down, 250 kbit/s up, 100 ms latency.
REGULAR_3G = {
    "offline": False,
    "latency": 100,
    "downloadThroughput": 750_000 / 8,
    "uploadThroughput": 250_000 / 8,
}
BROWSER_ACCEPT_ENCODING = "gzip, deflate, br, zstd"
VIOLATION = "SANITATION"
PHOTOS_PER_FINDING = 10  # the API's limit
TARGET_GOODPUT_RATIO = 0.8
TTI_TIMEOUT_MS = 60_000
UPLOAD_TIMEOUT_S = 300
POLL_S = 0.2
NUDGE_AFTER_S = 5.0
RECEIVED = {"processing", "accepted"}
TUS_PATH = "/api/mobile/v1/uploads/"
SEED = 20261208

# Runs in every page before its scripts: the moment the app is interactive, in the page's own
# clock (milliseconds since navigation start), caught by a MutationObserver as it happens.
INTERACTIVE_PROBE = """
(() => {
  const observer = new MutationObserver(() => {
    if (window.__interactiveAt !== undefined) return;
    const field = document.getElementById('username');
    if (document.documentElement?.dataset.ready === 'true' && field &&
        field.getClientRects().length > 0) {
      window.__interactiveAt = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, {subtree: true, childList: true, attributes: true});
})();
"""
LOAD_EVENT_JS = "() => performance.getEntriesByType('navigation')[0].loadEventEnd"
CONTROLLED_JS = "() => Boolean(navigator.serviceWorker && navigator.serviceWorker.controller)"
WORKER_READY_JS = "async () => Boolean((await navigator.serviceWorker.ready).active)"
WORKER_STATE_JS = """
async () => {
  const registration = await navigator.serviceWorker.getRegistration('/m/');
  const caches_ = {};
  for (const name of await caches.keys()) {
    caches_[name] = (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname);
  }
  return {active: registration?.active?.state || null, waiting: Boolean(registration?.waiting),
          caches: caches_};
}
"""
WARM_UP_PARALLEL = 20
WARM_UP_MAX_ROUNDS = 15
WARM_UP_FAST_S = 0.25


# --- 1. shell size -----------------------------------------------------------------------


def gzip9(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def shell_size(base_url: str) -> dict:
    """Fetch every precached file (and sw.js) as a browser would and size it as served and
    gzipped; index.html names the shell's script and style sheet, sw.js the precache list."""
    session = requests.Session()
    served: dict[str, dict] = {}

    def fetch(path: str) -> bytes:
        response = session.get(
            base_url + path,
            headers={"Accept-Encoding": BROWSER_ACCEPT_ENCODING},
            stream=True,
            timeout=30,
        )
        response.raise_for_status()
        wire = response.raw.read(decode_content=False)  # the body as sent
        encoding = response.headers.get("Content-Encoding", "identity")
        if encoding == "gzip":
            body = gzip.decompress(wire)
        elif encoding == "identity":
            body = wire
        else:  # brotli, zstd: size what was sent, read the file itself uncompressed
            body = session.get(base_url + path, headers={"Accept-Encoding": "identity"}).content
        head = len(f"HTTP/1.1 {response.status_code} {response.reason}\r\n\r\n") + sum(
            len(name) + len(value) + 4 for name, value in response.headers.items()
        )
        served[path] = {
            "content_encoding": encoding,
            "served_bytes": len(wire),
            "header_bytes": head,
            "raw_bytes": len(body),
            "gzip9_bytes": gzip9(body),
        }
        return body

    index = fetch("/m/").decode()
    worker = fetch("/m/sw.js").decode()
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', index)
    styles = re.findall(r'<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"', index)
    precached = re.findall(r'\{url:"([^"]+)",revision:', worker)
    if not scripts or not styles or "/m/" not in precached:
        raise SystemExit(f"cannot read the shell from index.html / sw.js: {scripts} {styles}")
    for path in precached:
        if path not in served:
            fetch(path)
    shell = ["/m/", *scripts, *styles]

    def total(paths: list[str], key: str) -> int:
        return sum(served[p][key] for p in paths)

    shell_gzip = total(shell, "gzip9_bytes")
    precache_gzip = total(precached, "gzip9_bytes")
    return {
        "content_encoding_served": sorted({v["content_encoding"] for v in served.values()}),
        "shell_files": shell,
        "shell_served_bytes": total(shell, "served_bytes"),
        "shell_gzip9_bytes": shell_gzip,
        "precache_files": len(precached),
        "precache_served_bytes": total(precached, "served_bytes"),
        "precache_gzip9_bytes": precache_gzip,
        "precache_header_bytes": total(precached, "header_bytes"),
        "sw_js_served_bytes": served["/m/sw.js"]["served_bytes"],
        "sw_js_gzip9_bytes": served["/m/sw.js"]["gzip9_bytes"],
        "first_visit_served_bytes": total(precached, "served_bytes")
        + served["/m/sw.js"]["served_bytes"],
        "budget_gzip_bytes": BUDGET_GZIP_BYTES,
        "shell_gzip_share_of_budget": round(shell_gzip / BUDGET_GZIP_BYTES, 3),
        "precache_gzip_share_of_budget": round(precache_gzip / BUDGET_GZIP_BYTES, 3),
        "shell_served_share_of_budget": round(total(shell, "served_bytes") / BUDGET_GZIP_BYTES, 3),
        "within_budget": precache_gzip <= BUDGET_GZIP_BYTES,
        "files": served,
    }


# --- 2. time to interactive --------------------------------------------------------------


class Wire:
    """What one page fetched, from the CDP Network events of its session."""

    def __init__(self, cdp) -> None:
        self.bytes = 0
        self.requests = 0
        self.from_worker = 0
        self.from_cache = 0
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.responseReceived", self._response)

    def _finished(self, event: dict) -> None:
        self.bytes += int(event.get("encodedDataLength") or 0)

    def _response(self, event: dict) -> None:
        response = event.get("response", {})
        self.requests += 1
        self.from_worker += bool(response.get("fromServiceWorker"))
        self.from_cache += bool(response.get("fromDiskCache"))


def load_once(context, url: str, *, app: bool, conditions: dict | None) -> dict:
    """Open `url` in a new page of `context` on `conditions` (None: no throttling) and time
    it: until interactive for the app, until the load event for the baseline page."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    if conditions is not None:
        cdp.send("Network.emulateNetworkConditions", conditions)
    wire = Wire(cdp)
    started = time.perf_counter()
    try:
        page.goto(url, wait_until="commit", timeout=TTI_TIMEOUT_MS)
        if app:
            handle = page.wait_for_function("() => window.__interactiveAt", timeout=TTI_TIMEOUT_MS)
            ms = float(handle.json_value())
        else:
            page.wait_for_load_state("load", timeout=TTI_TIMEOUT_MS)
            ms = float(page.evaluate(LOAD_EVENT_JS))
    except Exception as error:  # the offline case: the page must open, say why it did not
        return {"opened": False, "error": str(error).splitlines()[0], "page": page}
    return {
        "opened": True,
        "ms": round(ms, 1),
        "wall_ms": round((time.perf_counter() - started) * 1000, 1),
        "wire_bytes": wire.bytes,
        "requests": wire.requests,
        "from_service_worker": wire.from_worker,
        "from_disk_cache": wire.from_cache,
        "controlled": bool(page.evaluate(CONTROLLED_JS)) if app else False,
        "page": page,
    }


def _sample(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "page"}


def warm_up_workers(base_url: str) -> int:
    """Rounds of parallel requests on fresh connections until two rounds in a row are all
    fast, so that no timed load meets a worker importing its URLconf (module docstring)."""

    def fetch(path: str) -> float:
        started = time.perf_counter()
        requests.get(base_url + path, timeout=60)
        return time.perf_counter() - started

    fast_rounds = rounds = 0
    with ThreadPoolExecutor(WARM_UP_PARALLEL) as pool:
        while fast_rounds < 2 and rounds < WARM_UP_MAX_ROUNDS:
            rounds += 1
            slowest = max(pool.map(fetch, ["/m/", "/healthz"] * WARM_UP_PARALLEL))
            fast_rounds = fast_rounds + 1 if slowest < WARM_UP_FAST_S else 0
    return rounds


def _open_offline(context, proxy: LinkProxy, url: str) -> dict:
    """The app's second load with the phone offline: the context offline (as the page and
    its service worker see it) and the proxy refusing every connection."""
    context.set_offline(True)
    proxy.go_offline()
    try:
        result = load_once(context, url, app=True, conditions=None)
    finally:
        proxy.go_online()
        context.set_offline(False)
    if not result["opened"]:
        # Say what the device held when it failed: the worker's state and the precache.
        probe = context.new_page()
        probe.goto(url)
        result["diagnosis"] = probe.evaluate(WORKER_STATE_JS)
        probe.close()
    return result


def time_to_interactive(browser, proxy: LinkProxy, runs: int, baseline: tuple[str, int]) -> dict:
    """Cold and warm app loads, offline app loads and the baseline, `runs` times each, after
    one round that is not counted (the browser's own first navigations)."""
    samples: dict[str, list[dict]] = {
        "app_cold": [],
        "app_warm": [],
        "app_offline": [],
        "baseline_cold": [],
        "baseline_warm": [],
    }
    app_url = f"{proxy.url}/m/"
    baselines = iter(range(10**6))
    for round_number in range(runs + 1):
        counted = round_number > 0
        # The baseline in its own context, nothing of the app cached: a tiny static file from
        # the same Django app, a fresh query each time so that no cache answers it.
        context = phone_context(browser)
        for name in ("baseline_cold", "baseline_warm"):
            url = f"{proxy.url}{baseline[0]}?n={next(baselines)}"
            result = load_once(context, url, app=False, conditions=REGULAR_3G)
            result["page"].close()
            if counted:
                samples[name].append(_sample(result))
        context.close()

        context = phone_context(browser)
        context.add_init_script(INTERACTIVE_PROBE)
        cold = load_once(context, app_url, app=True, conditions=REGULAR_3G)
        cold["page"].evaluate(WORKER_READY_JS)  # installed: the precache is complete
        cold["page"].close()
        warm = load_once(context, app_url, app=True, conditions=REGULAR_3G)
        warm["page"].close()
        context.close()

        context = phone_context(browser)
        context.add_init_script(INTERACTIVE_PROBE)
        first = load_once(context, app_url, app=True, conditions=None)
        first["page"].evaluate(WORKER_READY_JS)
        first["page"].close()
        offline = _open_offline(context, proxy, app_url)
        offline["page"].close()
        context.close()
        if counted:
            samples["app_cold"].append(_sample(cold))
            samples["app_warm"].append(_sample(warm))
            samples["app_offline"].append(_sample(offline))
    return summarise_loads(samples, runs, baseline)


def summarise_loads(samples: dict[str, list[dict]], runs: int, baseline: tuple[str, int]) -> dict:
    out: dict = {
        "profile": "Regular 3G (DevTools): 750 kbit/s down, 250 kbit/s up, 100 ms latency",
        "emulate_network_conditions": REGULAR_3G,
        "runs": runs,
        "interactive": "html[data-ready=true] and #username laid out, ms from navigation start",
        "baseline": f"{baseline[0]} ({baseline[1]} bytes, a fresh query each load) to its "
        "load event, same link",
    }
    medians: dict[str, float] = {}
    for name, rows in samples.items():
        opened = [r for r in rows if r["opened"]]
        ms = sorted(r["ms"] for r in opened)
        entry: dict = {"opened": len(opened), "of": len(rows)}
        if ms:
            medians[name] = statistics.median(ms)
            entry |= {
                "median_ms": round(medians[name], 1),
                "p95_ms": percentile(ms, 0.95),
                "min_ms": ms[0],
                "max_ms": ms[-1],
                "median_wire_bytes": statistics.median(r["wire_bytes"] for r in opened),
                "median_requests": statistics.median(r["requests"] for r in opened),
            }
            if name.startswith("app"):
                entry["controlled_by_service_worker"] = sum(r["controlled"] for r in opened)
        errors = sorted({r["error"] for r in rows if not r["opened"]})
        if errors:
            entry["errors"] = errors
        entry["samples"] = rows
        out[name] = entry
    for app, baseline in (("app_cold", "baseline_cold"), ("app_warm", "baseline_warm")):
        if app in medians and baseline in medians:
            out[f"ratio_{app}_to_{baseline}"] = round(medians[app] / medians[baseline], 2)
    if "app_offline" in medians and "baseline_warm" in medians:
        out["ratio_app_offline_to_baseline_warm"] = round(
            medians["app_offline"] / medians["baseline_warm"], 2
        )
    if "app_warm" in medians and "app_cold" in medians:
        out["ratio_app_warm_to_app_cold"] = round(medians["app_warm"] / medians["app_cold"], 3)
    return out


def baseline_file(shell: dict) -> tuple[str, int]:
    """The smallest precached document a browser renders: the app's SVG icon."""
    svgs = [(path, f["raw_bytes"]) for path, f in shell["files"].items() if path.endswith(".svg")]
    if not svgs:
        raise SystemExit("no SVG icon in the precache list for the baseline")
    return min(svgs, key=lambda item: item[1])


# --- 3. upload goodput -------------------------------------------------------------------


def make_photos(folder: Path, count: int, min_bytes: int, max_bytes: int) -> list[Path]:
    """Real JPEGs of roughly uniform sizes in [min, max]: a gradient with Gaussian noise (so
    they do not compress away), 4:3, sized from the bytes per pixel such an image takes."""
    rng = np.random.default_rng(SEED)

    def encode(width: int, height: int) -> bytes:
        ramp = np.linspace(40, 200, width, dtype=np.float32)[None, :, None]
        shade = np.linspace(0.8, 1.1, height, dtype=np.float32)[:, None, None]
        tint = rng.uniform(0.7, 1.2, 3).astype(np.float32)[None, None, :]
        noise = rng.normal(0, 45, (height, width, 3)).astype(np.float32)
        pixels = np.clip(ramp * shade * tint + noise, 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels, "RGB").save(buffer, "JPEG", quality=90)
        return buffer.getvalue()

    probe = encode(800, 600)
    per_pixel = len(probe) / (800 * 600)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        wanted = rng.uniform(min_bytes, max_bytes)
        width = int((wanted / per_pixel * 4 / 3) ** 0.5) // 16 * 16
        data = encode(width, width * 3 // 4)
        path = folder / f"IMG_{index + 1:04d}.jpg"
        path.write_bytes(data)
        paths.append(path)
    return paths


def prepare_world() -> dict:
    """An inspector of 呼和浩特 (150100), a firm, and two of its compounds each with a task
    due today (one per link), made with the test factories."""
    import django

    django.setup()
    from django.utils import timezone

    from credit.models import StaffRole
    from inspections.models import TaskKind
    from inspections.services import task_create
    from tests.factories import (
        DEFAULT_PASSWORD,
        ContractFactory,
        EnterpriseFactory,
        ProjectFactory,
        staff,
    )

    inspector = staff(
        role=StaffRole.INSPECTOR, regions=("150100",), username="bench-inspector", name="基准"
    )
    enterprise = EnterpriseFactory(name="基准物业服务有限公司")
    tasks = {}
    for label in ("no_drops", "drops"):
        project = ProjectFactory(name=f"基准小区 {label}")
        ContractFactory(enterprise=enterprise, project=project)
        task = task_create(
            project=project,
            assignee=inspector,
            kind=TaskKind.ROUTINE,
            due_date=timezone.localdate(),
        )
        tasks[label] = task.id
    return {"username": inspector.user.username, "password": DEFAULT_PASSWORD, "tasks": tasks}


def wait_sync_idle(app: InspectorApp) -> None:
    """The sign-in's sync pass is over (its 同步 button is enabled again), so pressing 完成巡查
    starts the upload pass at once instead of waiting for the app's timer."""
    app.tab("sync")
    app.page.wait_for_selector("#sync-now:not([disabled])", timeout=60_000)


def wait_received(app: InspectorApp, expected: int) -> tuple[dict, int]:
    """Poll the device until every photo is on the server; press 同步 if the app sits idle
    (as wait_until does; its own timer would within 15 s). Returns the state and the presses."""
    deadline = time.monotonic() + UPLOAD_TIMEOUT_S
    idle_since = None
    nudges = 0
    while time.monotonic() < deadline:
        state = app.device_state()
        photos = state["photos"]
        if len(photos) == expected and all(p["state"] in RECEIVED for p in photos):
            return state, nudges
        button = app.page.locator("#sync-now:not([disabled])")
        if button.count():
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > NUDGE_AFTER_S:
                button.click()
                nudges += 1
                idle_since = None
        else:
            idle_since = None
        time.sleep(POLL_S)
    raise SystemExit(f"photos not all received in {UPLOAD_TIMEOUT_S} s: {app.device_state()}")


def tus_requests(log: Path, start: int) -> dict[str, int]:
    """The tus requests gunicorn answered since byte `start` of its log (the access log's JSON
    lines), as "METHOD status": counts."""
    tally: dict[str, int] = {}
    with log.open("rb") as handle:
        handle.seek(start)
        for line in handle:
            if not line.startswith(b"{"):
                continue
            entry = json.loads(line)
            if entry.get("logger") == "backend.access" and TUS_PATH in entry.get("path", ""):
                key = f"{entry['method']} {entry['status']}"
                tally[key] = tally.get(key, 0) + 1
    return dict(sorted(tally.items()))


def upload_run(
    browser,
    proxy: LinkProxy,
    log: Path,
    world: dict,
    label: str,
    photos: list[Path],
    *,
    rate: float,
    drop_every: int | None,
) -> dict:
    context = phone_context(browser)
    page = context.new_page()
    page.set_default_timeout(120_000)
    app = InspectorApp(page, proxy.url).open()
    app.sign_in(world["username"], world["password"])
    app.wait_for_tasks()
    wait_sync_idle(app)
    app.start_at_task(world["tasks"][label])
    for start in range(0, len(photos), PHOTOS_PER_FINDING):
        app.add_finding(VIOLATION, photos[start : start + PHOTOS_PER_FINDING])
    # The link under test from here on, with no connection carrying pacing credit.
    proxy.cut_all()
    proxy.bytes_up, proxy.drops = 0, 0
    proxy.rate, proxy.drop_every = rate, drop_every
    log_start = log.stat().st_size
    pressed_at = time.time()
    started = time.perf_counter()
    try:
        app.finish()
        state, nudges = wait_received(app, len(photos))
        elapsed = time.perf_counter() - started
        drops, bytes_up = proxy.drops, proxy.bytes_up
    finally:
        proxy.rate, proxy.drop_every = None, None
    # Let the pass finish (submit, follow the server) before the database is read.
    app.wait_until(
        lambda s: all(i["status"] in ("submitted", "done") for i in s["inspections"]),
        "the inspection submitted",
        timeout_s=60,
    )
    context.close()
    inspection_uuid = state["inspections"][0]["uuid"]
    photo_bytes = sum(p.stat().st_size for p in photos)
    return {
        "rate_bytes_per_s": rate,
        "drop_every_bytes": drop_every,
        "photos": len(photos),
        "photo_bytes": photo_bytes,
        "seconds": round(elapsed, 3),
        "goodput_mib_per_s": round(photo_bytes / MIB / elapsed, 3),
        "goodput_share_of_rate": round(photo_bytes / elapsed / rate, 3),
        "drops": drops,
        "upstream_bytes": bytes_up,
        "upstream_overhead": round(bytes_up / photo_bytes - 1, 4),
        "sync_presses": nudges,
        "tus_requests": tus_requests(log, log_start),
        "inspection_uuid": inspection_uuid,
        "pressed_at": pressed_at,
        "device_states": sorted({p["state"] for p in state["photos"]}),
    }


def check_arrivals(run: dict, photos: list[Path]) -> dict:
    """Every photo once on the server with its SHA-256 and one completed upload whose parts
    tile [0, length) without gap or overlap."""
    from inspections.models import Photo, PhotoState, UploadState

    expected = sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in photos)
    rows = list(
        Photo.objects.filter(finding__inspection__uuid=run["inspection_uuid"]).prefetch_related(
            "uploads"
        )
    )
    problems: list[str] = []
    parts_total = 0
    received_at = []
    for photo in rows:
        if photo.state not in (PhotoState.RECEIVED, PhotoState.PROCESSED):
            problems.append(f"{photo.uuid}: state {photo.state}")
        if photo.sha256 != photo.declared_sha256:
            problems.append(f"{photo.uuid}: sha256 {photo.sha256} ≠ declared")
        uploads = list(photo.uploads.all())
        completed = [u for u in uploads if u.state == UploadState.COMPLETED]
        if len(uploads) != 1 or len(completed) != 1:
            problems.append(f"{photo.uuid}: {len(uploads)} uploads, {len(completed)} completed")
        for upload in completed:
            position = 0
            for start, end in upload.parts:
                if start != position or end <= start:
                    problems.append(f"{photo.uuid}: part [{start}, {end}) after {position}")
                position = end
            if position != upload.length or upload.length != photo.declared_size:
                problems.append(f"{photo.uuid}: parts end at {position} of {upload.length}")
            parts_total += len(upload.parts)
        if photo.received_at:
            received_at.append(photo.received_at.timestamp())
    if sorted(p.sha256 for p in rows) != expected:
        problems.append("the received SHA-256s are not the 20 photos' (missing or repeated)")
    return {
        "photos_on_server": len(rows),
        "all_arrived_once_with_sha256": not problems,
        "upload_parts": parts_total,
        "server_seconds_to_last_received": (
            round(max(received_at) - run["pressed_at"], 3) if received_at else None
        ),
        "problems": problems[:10],
    }


def goodput(browser, proxy: LinkProxy, log: Path, world: dict, photos: list[Path], args) -> dict:
    rate = args.rate_mb * MIB
    runs = {}
    for label, drop_every in (("no_drops", None), ("drops", int(args.drop_every_mb * MIB))):
        run = upload_run(
            browser, proxy, log, world, label, photos, rate=rate, drop_every=drop_every
        )
        # Playwright's sync API keeps an event loop in this thread, which Django's ORM refuses.
        with ThreadPoolExecutor(1) as pool:
            run |= pool.submit(check_arrivals, run, photos).result()
        del run["pressed_at"]
        runs[label] = run
    ratio = runs["no_drops"]["seconds"] / runs["drops"]["seconds"]  # the same bytes in both
    sizes = [p.stat().st_size for p in photos]
    return {
        "photos": len(photos),
        "photo_mib_min": round(min(sizes) / MIB, 2),
        "photo_mib_max": round(max(sizes) / MIB, 2),
        "photo_mib_total": round(sum(sizes) / MIB, 2),
        "rate_mib_per_s": args.rate_mb,
        "drop_every_mib": args.drop_every_mb,
        "no_drops": runs["no_drops"],
        "drops": runs["drops"],
        "ratio_drops_to_no_drops": round(ratio, 3),
        "target_ratio": TARGET_GOODPUT_RATIO,
        "ratio_met": ratio >= TARGET_GOODPUT_RATIO,
        "all_arrived_once": all(r["all_arrived_once_with_sha256"] for r in runs.values()),
    }


# --- main --------------------------------------------------------------------------------


def summary_line(shell: dict, tti: dict, uploads: dict) -> str:
    cold, warm, off = tti["app_cold"], tti["app_warm"], tti["app_offline"]
    return (
        f"Shell {shell['shell_gzip9_bytes'] / 1000:.1f} kB gzip -9 "
        f"({shell['shell_served_bytes'] / 1000:.1f} kB as served, "
        f"{'/'.join(shell['content_encoding_served'])}); precache "
        f"{shell['precache_gzip9_bytes'] / 1000:.1f} kB gzipped = "
        f"{shell['precache_gzip_share_of_budget']:.0%} of the 300 kB budget. "
        f"Regular 3G, median of {tti['runs']}: cold {cold.get('median_ms')} ms "
        f"(×{tti.get('ratio_app_cold_to_baseline_cold')} the static-file baseline), warm "
        f"{warm.get('median_ms')} ms, offline {off.get('median_ms')} ms "
        f"({off['opened']}/{off['of']} opened). Uploads of {uploads['photos']} photos "
        f"({uploads['photo_mib_total']} MiB) at {uploads['rate_mib_per_s']} MiB/s: "
        f"{uploads['no_drops']['goodput_mib_per_s']} MiB/s without drops, "
        f"{uploads['drops']['goodput_mib_per_s']} MiB/s with {uploads['drops']['drops']} drops: "
        f"ratio {uploads['ratio_drops_to_no_drops']} (target ≥ {TARGET_GOODPUT_RATIO})."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="loads per time-to-interactive case")
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--min-mb", type=float, default=1.5, help="smallest photo, MiB")
    parser.add_argument("--max-mb", type=float, default=3.0, help="largest photo, MiB")
    parser.add_argument("--rate-mb", type=float, default=2.0, help="link rate, MiB/s upstream")
    parser.add_argument("--drop-every-mb", type=float, default=2.0, help="cut every N MiB")
    parser.add_argument("--gunicorn", default="gthread:5:4", help="worker_class:workers:threads")
    args = parser.parse_args()
    settings = parse_settings(args.gunicorn)[0]
    begun = time.perf_counter()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench_inspector_app_") as tmp:
        base = Path(tmp)
        photos = make_photos(
            base / "photos", args.photos, int(args.min_mb * MIB), int(args.max_mb * MIB)
        )
        with running_services(base) as (env, service_pids):
            # INFO: the access log (one line per request) tells what each upload run sent.
            env = {**env, "DEBUG": "0", "LOG_LEVEL": "INFO"}
            os.environ.update(env)
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True, env=env
            )
            world = prepare_world()
            with (
                gunicorn(
                    env=env,
                    folder=base,
                    settings=settings,
                    ready_path="/healthz",
                    extra_pids=service_pids,
                ) as server,
                sync_playwright() as playwright,
            ):
                direct = f"http://127.0.0.1:{server.port}"
                warm_up_rounds = warm_up_workers(direct)
                shell = shell_size(direct)
                proxy = LinkProxy(upstream=("127.0.0.1", server.port)).start()
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                try:
                    tti = time_to_interactive(browser, proxy, args.runs, baseline_file(shell))
                    uploads = goodput(browser, proxy, server.log, world, photos, args)
                finally:
                    browser.close()
                    proxy.stop()
    result = {
        "benchmark": "inspector_app",
        "command": "python bench/bench_inspector_app.py",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "gunicorn": settings.as_dict(),
        "warm_up_rounds": warm_up_rounds,
        "summary": summary_line(shell, tti, uploads),
        "shell": shell,
        "time_to_interactive": tti,
        "uploads": uploads,
        "bench_seconds": round(time.perf_counter() - begun, 1),
    }
    write_result(RESULTS_PATH, result)
    if not uploads["all_arrived_once"]:
        raise SystemExit("some photos did not arrive exactly once with their SHA-256")
    if tti["app_offline"]["opened"] != tti["app_offline"]["of"]:
        raise SystemExit("the app did not open offline every time")


if __name__ == "__main__":
    main()
