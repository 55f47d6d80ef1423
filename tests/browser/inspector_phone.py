"""The inspector web app (/m/) as a test drives it in headless Chromium: a phone-sized page,
an English browser on purpose (the app must still speak Chinese), and the app's own buttons.

Everything goes through the app's screens; `device_state` reads the app's IndexedDB only to
wait for and assert on what the sync screen also shows.
"""

import time
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
# The browser itself is English (navigator.language and Accept-Language). Set at launch, not
# with Playwright's `locale` / `extra_http_headers`: those make Chromium fail navigations that
# the service worker answers from its cache while offline (net::ERR_FAILED), which no real
# phone does.
ENGLISH_BROWSER_ARGS = ["--lang=en-US", "--accept-lang=en-US,en"]
WAIT_S = 120

DEVICE_STATE_JS = """
async () => {
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open('wuye-inspector');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const all = (store) => new Promise((resolve, reject) => {
    const request = db.transaction(store).objectStore(store).getAll();
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const [inspections, photos, findings] = await Promise.all(
    [all('inspections'), all('photos'), all('findings')]);
  db.close();
  return {
    inspections: inspections.map((i) => ({uuid: i.uuid, status: i.status, error: i.error || null})),
    findings: findings.map((f) => ({uuid: f.uuid, inspection_uuid: f.inspection_uuid})),
    photos: photos.map((p) => ({uuid: p.uuid, state: p.state, sha256: p.sha256, size: p.size,
                                has_blob: !!p.blob, reason: p.reason || null,
                                finding_uuid: p.finding_uuid})),
  };
}
"""


def phone_context(browser: Browser, **extra) -> BrowserContext:
    return browser.new_context(
        **PHONE,
        geolocation={"latitude": 40.8414, "longitude": 111.7519, "accuracy": 8},
        permissions=["geolocation"],
        **extra,
    )


@dataclass
class InspectorApp:
    page: Page
    base_url: str
    shots: Path | None = None

    def open(self) -> "InspectorApp":
        self.page.goto(f"{self.base_url}/m/")
        self.page.wait_for_selector("html[data-ready=true]")
        return self

    def shot(self, name: str) -> None:
        if self.shots is not None:
            self.shots.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(self.shots / f"{name}.png"))

    def sign_in(self, username: str, password: str) -> None:
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("form.sign-in button[type=submit]")
        self.page.wait_for_selector("#tabs:not([hidden])")

    def wait_for_tasks(self) -> None:
        self.page.wait_for_selector("#tasks li[data-task-id]", timeout=WAIT_S * 1000)

    def tab(self, name: str) -> None:
        self.page.click(f"#tabs a[data-tab={name}]")
        self.page.wait_for_selector("#screen-title")

    def start_at_task(self, task_id: int) -> None:
        self.tab("today")
        self.page.click(f"#tasks li[data-task-id='{task_id}'] button")
        self.page.wait_for_selector("#add-finding")

    def start_at_project(self, name: str) -> None:
        self.tab("projects")
        self.page.fill("#project-search", name)
        self.page.click(f"#projects a:has-text('{name}')")
        self.page.click("#start-inspection")
        self.page.wait_for_selector("#add-finding")

    def add_finding(self, code: str, photos: list[Path], description: str = "") -> None:
        self.page.click("#add-finding")
        self.page.check(f"input[name=violation][value='{code}']")
        if description:
            self.page.fill("#description", description)
        before = self.page.locator(".photo-tile").count()
        self.page.set_input_files("#camera-input", [str(path) for path in photos])
        self.page.wait_for_selector(f".photo-tile:nth-child({before + len(photos)})")
        self.page.click("#save-finding")
        self.page.wait_for_selector("#finish")

    def finish(self) -> None:
        self.page.click("#finish")
        self.page.click("dialog [data-choice=true]")
        self.page.wait_for_selector("#queue")

    def wait_for_service_worker(self) -> None:
        # Polled from here: wait_for_function evaluates strings in the page, which the app's
        # CSP (no 'unsafe-eval') rightly refuses.
        deadline = time.monotonic() + WAIT_S
        while not self.page.evaluate("() => navigator.serviceWorker.controller !== null"):
            assert time.monotonic() < deadline, "the service worker never took control"
            time.sleep(0.2)

    def device_state(self) -> dict:
        return self.page.evaluate(DEVICE_STATE_JS)

    def wait_until(self, check, what: str, *, timeout_s: float = WAIT_S, nudge_s: float = 5):
        """Poll the device until `check(state)` holds, pressing 同步 now and then (the app's
        own timer would do it within 15 s)."""
        deadline = time.monotonic() + timeout_s
        last_nudge = time.monotonic()
        while time.monotonic() < deadline:
            state = self.device_state()
            if check(state):
                return state
            if time.monotonic() - last_nudge > nudge_s:
                last_nudge = time.monotonic()
                button = self.page.locator("#sync-now:not([disabled])")
                if button.count():
                    button.click()
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}: {self.device_state()}")
