// The inspector app's shell: start-up, hash routing between the screens, the tab bar, the
// network and update banners, and the sync timer. Screens live in views/; the device store in
// db.js; the network in api.js and sync.js.

import { session } from './api.js';
import * as store from './db.js';
import { $, h } from './dom.js';
import { setLang, t } from './i18n.js';
import { releasePreviews } from './photos.js';
import { onChange, pendingWork, state, syncNow } from './sync.js';
import { button } from './ui.js';
import { findingView } from './views/finding.js';
import { inspectionView } from './views/inspection.js';
import { loginView } from './views/login.js';
import { meView } from './views/me.js';
import { projectView } from './views/project.js';
import { projectsView } from './views/projects.js';
import { syncView } from './views/syncview.js';
import { todayView } from './views/today.js';

// Replaced by the build with the hash of the app's sources.
const VERSION = typeof APP_VERSION === 'string' ? APP_VERSION : 'dev';
const BUSY_SYNC_MS = 10_000;
const IDLE_SYNC_MS = 5 * 60_000;
const TABS = [
  ['#/today', 'tab_today'],
  ['#/projects', 'tab_projects'],
  ['#/sync', 'tab_sync'],
  ['#/me', 'tab_me'],
];
// Screens that show live sync progress re-render when the queue changes.
const LIVE = new Set(['sync', 'today']);

const ROUTES = [
  [/^#\/today$/, 'today', () => todayView({ go })],
  [/^#\/projects(?:\?q=(.*))?$/, 'projects', (m) => projectsView({ query: decodeURIComponent(m[1] || '') })],
  [/^#\/project\/(\d+)$/, 'project', (m) => projectView({ id: m[1], go })],
  [/^#\/inspection\/([\w-]+)$/, 'inspection', (m) => inspectionView({ uuid: m[1], go, syncSoon })],
  [/^#\/finding\/([\w-]+)\/([\w-]+)$/, 'finding', (m) => findingView({ inspectionUuid: m[1], uuid: m[2], go })],
  [/^#\/sync$/, 'sync', () => syncView()],
  [/^#\/me$/, 'me', () => meView({ version: VERSION, onLanguage, onSignedOut: () => go('#/login'), go })],
];

let currentRoute = null;
let rendering = Promise.resolve();
let waitingWorker = null;

function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function syncSoon() {
  setTimeout(() => syncNow(), 0);
}

function onLanguage(value) {
  setLang(value);
  renderChrome();
  render();
}

async function signedIn() {
  const current = await session();
  return Boolean(current && !current.needs_sign_in);
}

function render() {
  rendering = rendering.then(renderNow, renderNow);
  return rendering;
}

async function renderNow() {
  const view = $('#view');
  if (!(await signedIn())) {
    currentRoute = 'login';
    $('#tabs').hidden = true;
    view.replaceChildren(await loginView({ onSignedIn: afterSignIn }));
    return;
  }
  $('#tabs').hidden = false;
  const hash = location.hash && location.hash !== '#/login' ? location.hash : '#/today';
  const [, name, build] = ROUTES.map(([pattern, routeName, make]) => {
    const match = pattern.exec(hash);
    return match ? [match, routeName, () => make(match)] : null;
  }).find(Boolean) || [null, 'today', () => todayView({ go })];
  const changedScreen = name !== currentRoute;
  if (changedScreen) releasePreviews();
  const scroll = window.scrollY;
  const node = await build();
  currentRoute = name;
  view.replaceChildren(node);
  markTab(hash);
  if (changedScreen) $('#screen-title')?.focus({ preventScroll: true });
  else window.scrollTo(0, scroll);
}

function afterSignIn() {
  location.hash = '#/today';
  render();
  syncSoon();
}

function markTab(hash) {
  for (const link of document.querySelectorAll('#tabs a')) {
    const active = hash.startsWith(link.getAttribute('href'));
    if (active) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function renderChrome() {
  document.title = t('app_name');
  $('#tabs').replaceChildren(
    ...TABS.map(([href, key]) => h('a', { href, dataset: { tab: href.slice(2) } }, h('span', {}, t(key)))),
  );
  renderBanner();
}

function renderBanner() {
  const banner = $('#banner');
  const parts = [];
  if (!navigator.onLine) parts.push(h('p', { class: 'banner-offline', role: 'status' }, t('offline'), ' · ', t('error_network')));
  if (waitingWorker) {
    parts.push(h('p', { class: 'banner-update', role: 'status' }, t('update_ready'), ' ',
      button(t('update_now'), () => waitingWorker.postMessage({ type: 'SKIP_WAITING' }), { kind: 'secondary', id: 'update-now' })));
  }
  banner.replaceChildren(...parts);
}

// --- sync timer -----------------------------------------------------------------------------

async function scheduleSync() {
  const pending = await pendingWork();
  const delay = pending.inspections || pending.photos ? BUSY_SYNC_MS : IDLE_SYNC_MS;
  setTimeout(async () => {
    if (await signedIn()) await syncNow();
    scheduleSync();
  }, delay);
}

// --- service worker ---------------------------------------------------------------------------

function registerWorker() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('/m/sw.js', { scope: '/m/' }).then((registration) => {
    const offer = (worker) => {
      // A new version waits until the inspector agrees: reloading mid-form would be rude, and
      // queued work is in IndexedDB either way, which no update touches.
      if (worker && navigator.serviceWorker.controller) {
        waitingWorker = worker;
        renderBanner();
      }
    };
    offer(registration.waiting);
    registration.addEventListener('updatefound', () => {
      const worker = registration.installing;
      worker?.addEventListener('statechange', () => {
        if (worker.state === 'installed') offer(worker);
      });
    });
  });
  let reloading = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (waitingWorker && !reloading) {
      reloading = true;
      window.location.reload();
    }
  });
}

async function start() {
  setLang((await store.kvGet('lang')) || 'zh');
  renderChrome();
  window.addEventListener('hashchange', render);
  window.addEventListener('online', () => {
    renderBanner();
    render();
    syncSoon();
  });
  window.addEventListener('offline', () => {
    renderBanner();
    render();
  });
  onChange((what) => {
    // Forms are never re-rendered under the inspector's fingers; only live lists are.
    if (what === 'sign_in' || LIVE.has(currentRoute)) render();
  });
  // Ask the browser to keep this origin's storage under pressure: it holds evidence.
  navigator.storage?.persist?.().catch(() => {});
  registerWorker();
  await render();
  if (await signedIn()) syncSoon();
  scheduleSync();
  document.documentElement.dataset.ready = 'true';
}

start();

export { state };
