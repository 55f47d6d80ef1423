"""The inspector web app (/m/) in headless Chromium, phone-sized and with an English browser,
against the real stack (PostgreSQL, Redis, SeaweedFS, a Celery worker) through a link the
tests can cut: a whole day offline, a connection dropped mid-upload, a refused photo, a token
that expires during sync, two tabs at once, and sign-out.

The browser reaches the live server through `LinkProxy`, so "offline" is a real outage (the
service worker cannot cheat by reaching the server), and dropped connections are real TCP
cuts inside the tus PATCH bodies.
"""

import hashlib
import io
import os
import random
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from PIL import Image

from backend.storage import get_store
from inspections.models import Inspection, Photo, PhotoState, TaskKind, Upload
from inspections.services import task_create
from tests.browser.conftest import CHROMIUM_ARGS
from tests.browser.inspector_phone import ENGLISH_BROWSER_ARGS, InspectorApp, phone_context
from tests.browser.link_proxy import LinkProxy
from tests.factories import DEFAULT_PASSWORD, ContractFactory, ProjectFactory
from tests.inspections import imagefactory
from tests.mobile_api.phone import jpeg

pytestmark = [
    pytest.mark.browser,
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = (
    Path(os.environ.get("TEST_ARTEFACTS", ROOT / "var" / "test-artefacts")) / "inspector-app"
)
CHROMIUM = "/usr/bin/chromium"
CODES = ("SANITATION", "PARKING-DISORDER", "FEE-UNLISTED")  # 1 photo minimum each


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch, settings):
    """Playwright's sync API runs an event loop in this thread, and Django then refuses ORM
    calls from it; the tests read the database between browser steps, which is safe here."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CREDIT_OBJECTION_WORKING_DAYS = 0


@pytest.fixture
def link(live_server):
    parts = urlsplit(live_server.url)
    proxy = LinkProxy(upstream=(parts.hostname, parts.port)).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{CHROMIUM} is required (REQUIRE_SERVICES=1)")
        pytest.skip(f"{CHROMIUM} not installed: browser tests need the system Chromium")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Code running under Playwright's sync API does not see the database connection opened
    # before it started, and opens its own: each is closed on its side of the boundary, or
    # one stays open and the test database cannot be dropped at the end of the run.
    connections.close_all()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *ENGLISH_BROWSER_ARGS]
        )
        yield chromium
        chromium.close()
        connections.close_all()


@pytest.fixture
def app(browser, link):
    context = phone_context(browser)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield InspectorApp(page, link.url, shots=ARTEFACTS)
    context.close()
    assert problems == [], problems


@pytest.fixture
def compounds(enterprise):
    """Five compounds of 呼和浩特 at the test photos' EXIF position, each with a task."""
    return [
        _compound(enterprise, name)
        for name in ("青城花园", "塞上明珠", "大召小区", "南湖府", "团结嘉苑")
    ]


def _compound(enterprise, name):
    project = ProjectFactory(name=name, lat=imagefactory.HOHHOT_LAT, lon=imagefactory.HOHHOT_LON)
    ContractFactory(
        enterprise=enterprise,
        project=project,
        start_date=timezone.localdate() - timedelta(days=900),
    )
    return project


def _tasks(projects, inspector):
    return [
        task_create(
            project=project,
            assignee=inspector,
            kind=TaskKind.ROUTINE,
            due_date=timezone.localdate(),
        )
        for project in projects
    ]


# --- photos ------------------------------------------------------------------------------


def _write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def small_photos(folder: Path, count: int, *, first_seed: int = 0) -> list[Path]:
    return [
        _write(
            folder, f"IMG_{first_seed + index:04d}.jpg", jpeg(first_seed + index, size=(960, 720))
        )
        for index in range(count)
    ]


def noisy_photo(folder: Path, name: str, *, megabytes: float, seed: int) -> Path:
    """A JPEG of noise that does not compress away: about `megabytes` MB on the wire."""
    rng = random.Random(seed)
    side = int((megabytes * 1_000_000 / 1.1) ** 0.5)
    image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    buffer = io.BytesIO()
    image.save(
        buffer, "JPEG", quality=92, exif=imagefactory.hohhot_exif(taken="2025:05:06 17:00:00")
    )
    return _write(folder, name, buffer.getvalue())


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- what the server received ---------------------------------------------------------------


@pytest.fixture
def received(monkeypatch):
    """Every byte range the tus endpoint read, per upload: `{upload_id: [(offset, n), ...]}`.
    Wraps the real service (nothing is replaced) to count what crossed into the server."""
    from mobile_api import tus

    ranges: dict = defaultdict(list)
    real = tus.upload_append

    def counted(*, read, upload_id, offset, **kwargs):
        got = [0]

        def reading(size):
            data = read(size)
            got[0] += len(data)
            return data

        try:
            return real(read=reading, upload_id=upload_id, offset=offset, **kwargs)
        finally:
            ranges[upload_id].append((offset, got[0]))

    monkeypatch.setattr(tus, "upload_append", counted)
    return ranges


def bytes_read_per_photo(ranges) -> dict:
    """photo uuid → the (offset, n) ranges read for it over all its uploads, in order."""
    per_photo: dict = defaultdict(list)
    for upload in Upload.objects.select_related("photo").filter(id__in=list(ranges)):
        per_photo[str(upload.photo.uuid)].extend(ranges[upload.id])
    return per_photo


def assert_each_byte_read_once(ranges, size: int) -> None:
    position = 0
    for offset, count in sorted(ranges):
        if count == 0:
            continue
        assert offset == position, f"range at {offset} overlaps or skips (expected {position})"
        position += count
    assert position == size


def all_done(state) -> bool:
    return bool(state["inspections"]) and all(i["status"] == "done" for i in state["inspections"])


# --- tests -----------------------------------------------------------------------------------


def test_a_full_day_offline_arrives_once_intact_and_reaches_review(
    app, link, live_server, celery_worker_proc, inspector, compounds, bureau, tmp_path, received
):
    tasks = _tasks(compounds, inspector)
    app.open()
    assert app.page.evaluate("document.documentElement.lang") == "zh-CN"
    assert "巡查员登录" in app.page.inner_text("h1")
    app.shot("01-sign-in")
    app.sign_in(inspector.user.username, DEFAULT_PASSWORD)
    app.wait_for_tasks()
    app.wait_for_service_worker()
    app.shot("02-today")

    # The whole day with no network: the link is down, the browser knows it.
    link.go_offline()
    app.page.context.set_offline(True)
    photos_per_inspection = (4, 3, 3, 2, 0)  # 12 photos; the last inspection is clean
    sent: dict[str, Path] = {}
    findings = 0
    for index, (task, count) in enumerate(zip(tasks, photos_per_inspection, strict=True)):
        app.page.reload()  # the shell comes from the service worker; the work from IndexedDB
        app.page.wait_for_selector("html[data-ready=true]")
        app.start_at_task(task.id)
        files = small_photos(tmp_path / f"day-{index}", count, first_seed=10 * index)
        if count:
            split = (count + 1) // 2
            app.add_finding(CODES[index % 3], files[:split], description=f"第{index + 1}处问题")
            findings += 1
            if files[split:]:
                app.add_finding(CODES[(index + 1) % 3], files[split:])
                findings += 1
            if index == 0:
                app.shot("03-inspection")
        for path in files:
            sent[sha256_of(path)] = path
        app.finish()
    app.shot("04-sync-offline")
    state = app.device_state()
    assert [i["status"] for i in state["inspections"]].count("waiting") == 5
    assert len(state["photos"]) == 12 and all(p["has_blob"] for p in state["photos"])
    assert Inspection.objects.count() == 0  # nothing could leave the phone

    link.go_online()
    app.page.context.set_offline(False)
    state = app.wait_until(all_done, "every inspection delivered and every photo processed")
    app.shot("05-sync-done")

    # On the device: all accepted, and the bytes dropped only now that the server has them.
    assert {p["state"] for p in state["photos"]} == {"accepted"}
    assert not any(p["has_blob"] for p in state["photos"])
    # On the server: 5 submitted inspections (one clean), 12 photos, each once and intact.
    inspections = Inspection.objects.filter(inspector=inspector)
    assert inspections.count() == 5
    assert all(i.status == "submitted" for i in inspections)
    assert sum(1 for i in inspections if not i.findings.exists()) == 1
    photos = Photo.objects.filter(finding__inspection__inspector=inspector)
    assert photos.count() == 12 and {p.state for p in photos} == {PhotoState.PROCESSED}
    store = get_store()
    for photo in photos:
        original = store.read_bytes(photo.original_key, max_bytes=30 * 1024 * 1024)
        assert hashlib.sha256(original).hexdigest() == photo.sha256
        assert original == sent[photo.sha256].read_bytes()
    per_photo = bytes_read_per_photo(received)
    for photo in photos:
        assert_each_byte_read_once(per_photo[str(photo.uuid)], photo.declared_size)
    # The reviewer's queue shows the findings with their photos' derivatives.
    queue = bureau.get("/api/bureau/v1/review/findings?status=pending&limit=50").json()["items"]
    assert len(queue) == findings == 8
    assert sum(len(item["photos"]) for item in queue) == 12
    assert all(photo["thumb_url"] for item in queue for photo in item["photos"])


def test_a_connection_cut_mid_upload_resumes_from_its_offset(
    app, link, celery_worker_proc, inspector, project, tmp_path, received
):
    [task] = _tasks([project], inspector)
    big = [noisy_photo(tmp_path, f"big-{n}.jpg", megabytes=1.6, seed=n) for n in range(2)]
    app.open()
    app.sign_in(inspector.user.username, DEFAULT_PASSWORD)
    app.wait_for_tasks()
    link.drop_every = 700_000  # several cuts inside each photo's PATCH body
    app.start_at_task(task.id)
    app.add_finding("SANITATION", big)
    app.finish()
    app.wait_until(all_done, "the photos to arrive over the cut link")

    assert link.drops >= 3
    for photo in Photo.objects.filter(finding__inspection__task=task):
        uploads = list(photo.uploads.all())
        assert len(uploads) == 1, "a cut must resume the same upload, not start a new one"
        ranges = received[uploads[0].id]
        assert sum(1 for _, count in ranges if count) >= 2, "the photo was never resumed"
        assert_each_byte_read_once(ranges, photo.declared_size)
        assert photo.state == PhotoState.PROCESSED
        assert photo.sha256 in {sha256_of(path) for path in big}


def test_a_refused_photo_shows_its_reason_and_the_rest_go_on(
    app, link, celery_worker_proc, inspector, project, tmp_path
):
    [task] = _tasks([project], inspector)
    good = small_photos(tmp_path, 2)
    whole = jpeg(99, size=(960, 720))
    truncated = _write(tmp_path, "IMG_CUT.jpg", whole[: len(whole) * 2 // 3])
    app.open()
    app.sign_in(inspector.user.username, DEFAULT_PASSWORD)
    app.wait_for_tasks()
    app.start_at_task(task.id)
    app.add_finding("SANITATION", [good[0], truncated, good[1]])
    app.finish()
    state = app.wait_until(all_done, "the server's verdict on every photo")
    app.page.wait_for_selector(".photo-row[data-state=refused]")
    app.shot("06-refused-photo")

    states = sorted(p["state"] for p in state["photos"])
    assert states == ["accepted", "accepted", "refused"]
    refused = app.page.inner_text(".photo-row[data-state=refused]")
    assert "被拒收" in refused and "截断" in refused
    # A refused photo stays on the phone (the inspector still has it); accepted ones are gone.
    assert [p["has_blob"] for p in state["photos"] if p["state"] == "refused"] == [True]
    assert Inspection.objects.get(task=task).status == "submitted"


def test_an_access_token_that_expired_during_the_day_is_refreshed_by_the_sync(
    app, link, celery_worker_proc, inspector, project, tmp_path
):
    from backend.models import ApiToken, TokenFamily

    [task] = _tasks([project], inspector)
    app.open()
    app.sign_in(inspector.user.username, DEFAULT_PASSWORD)
    app.wait_for_tasks()
    link.go_offline()
    app.page.context.set_offline(True)
    app.start_at_task(task.id)
    app.add_finding("SANITATION", small_photos(tmp_path, 3))
    app.finish()
    # While the phone was away its access token expired (the phone's clock does not know).
    tokens = ApiToken.objects.filter(family__user=inspector.user, kind="access")
    assert tokens.update(expires_at=timezone.now() - timedelta(seconds=1)) == 1

    link.go_online()
    app.page.context.set_offline(False)
    app.wait_until(all_done, "the sync to refresh its token and deliver")

    processed = Photo.objects.filter(finding__inspection__task=task, state=PhotoState.PROCESSED)
    assert processed.count() == 3
    [family] = TokenFamily.objects.filter(user=inspector.user)
    assert family.revoked_at is None, "the refresh must rotate, not trip reuse detection"
    assert tokens.filter(expires_at__gt=timezone.now()).count() == 1  # a fresh access token


def test_two_tabs_open_at_once_upload_each_photo_once(
    browser, link, celery_worker_proc, inspector, project, tmp_path, received
):
    [task] = _tasks([project], inspector)
    context = phone_context(browser)
    first = InspectorApp(context.new_page(), link.url).open()
    first.sign_in(inspector.user.username, DEFAULT_PASSWORD)
    first.wait_for_tasks()
    second = InspectorApp(context.new_page(), link.url).open()
    second.page.wait_for_selector("#tabs:not([hidden])")
    link.go_offline()
    context.set_offline(True)
    first.start_at_task(task.id)
    first.add_finding(
        "SANITATION", [noisy_photo(tmp_path, f"p{n}.jpg", megabytes=0.8, seed=n) for n in range(3)]
    )
    first.finish()
    second.tab("sync")

    link.go_online()
    context.set_offline(False)  # both tabs hear `online` and try to sync
    first.wait_until(all_done, "the photos to arrive once")
    second.page.reload()
    second.page.wait_for_selector(".sync-card[data-status=done]")
    context.close()

    photos = Photo.objects.filter(finding__inspection__task=task)
    assert photos.count() == 3
    per_photo = bytes_read_per_photo(received)
    for photo in photos:
        assert photo.uploads.count() == 1
        assert_each_byte_read_once(per_photo[str(photo.uuid)], photo.declared_size)


def test_signing_out_warns_about_unsynced_work_and_wipes_the_device(
    app, link, inspector, project, tmp_path
):
    [task] = _tasks([project], inspector)
    app.open()
    app.sign_in(inspector.user.username, DEFAULT_PASSWORD)
    app.wait_for_tasks()
    link.go_offline()
    app.page.context.set_offline(True)
    app.start_at_task(task.id)
    app.add_finding("SANITATION", small_photos(tmp_path, 1))
    app.finish()
    app.tab("me")
    app.page.click("#sign-out")
    warning = app.page.inner_text("dialog")
    app.shot("07-sign-out-warning")
    app.page.click("dialog [data-choice=null]")  # cancel: nothing is lost
    kept = app.device_state()

    app.page.click("#sign-out")
    app.page.click("dialog [data-choice=wipe]")
    app.page.wait_for_selector("#username")
    wiped = app.device_state()

    assert "1 条巡查" in warning and "1 张照片" in warning and "永久丢失" in warning
    assert len(kept["inspections"]) == 1 and len(kept["photos"]) == 1
    assert wiped == {"inspections": [], "findings": [], "photos": []}


def test_chinese_whatever_the_browser_says_and_english_when_chosen(inspector, link, app):
    app.open()
    assert app.page.evaluate("() => navigator.language") == "en-US"
    assert app.page.inner_text("h1") == "巡查员登录"
    app.sign_in(inspector.user.username, DEFAULT_PASSWORD)
    app.tab("me")
    app.page.click("button[lang=en]")
    app.page.wait_for_selector("#tabs a[data-tab=me]:has-text('Me')")
    app.page.reload()
    app.page.wait_for_selector("html[data-ready=true]")
    app.tab("today")
    english = (app.page.inner_text("h1"), app.page.evaluate("document.documentElement.lang"))
    app.shot("08-today-english")
    app.tab("me")
    app.page.click("button[lang=zh-CN]")
    app.page.wait_for_selector("#tabs a[data-tab=me]:has-text('我的')")

    assert english == ("Today's tasks", "en")


def test_an_app_update_mid_inspection_keeps_the_work_on_the_device(
    app, link, celery_worker_proc, inspector, project, tmp_path, settings
):
    import shutil

    build = tmp_path / "build"
    shutil.copytree(ROOT / "inspector_app" / "build", build)
    settings.INSPECTOR_APP_BUILD_DIR = build
    [task] = _tasks([project], inspector)
    app.open()
    app.sign_in(inspector.user.username, DEFAULT_PASSWORD)
    app.wait_for_tasks()
    app.wait_for_service_worker()
    app.start_at_task(task.id)
    app.add_finding("SANITATION", small_photos(tmp_path, 2))
    before = app.device_state()

    # A new version is deployed while the inspector is half-way through.
    worker = (build / "sw.js").read_text(encoding="utf-8")
    (build / "sw.js").write_text(worker + "\n// the next version\n", encoding="utf-8")
    app.page.evaluate("() => navigator.serviceWorker.getRegistration().then((r) => r.update())")
    app.page.wait_for_selector("#update-now", timeout=60_000)
    app.shot("09-update-ready")
    with app.page.expect_navigation():
        app.page.click("#update-now")  # the new worker takes over and the app reloads
    app.page.wait_for_selector("html[data-ready=true]")
    waiting = app.page.evaluate(
        "() => navigator.serviceWorker.getRegistration().then((r) => r.waiting === null)"
    )
    after_update = app.device_state()

    assert waiting, "the new version is the one running"
    assert after_update == before, "the update must not touch the work on the device"
    app.tab("today")
    app.page.click(f"#tasks li[data-task-id='{task.id}'] button")
    app.page.wait_for_selector("#finish")
    app.finish()
    app.wait_until(all_done, "the work recorded before the update to arrive")
    assert (
        Photo.objects.filter(finding__inspection__task=task, state=PhotoState.PROCESSED).count()
        == 2
    )
