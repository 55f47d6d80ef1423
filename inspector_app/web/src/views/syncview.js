import * as store from '../db.js';
import { h } from '../dom.js';
import { formatBytes, formatDateTime, formatPercent, problemText, rejectionText, t } from '../i18n.js';
import { retryFailed, state, syncNow } from '../sync.js';
import { badge, button, empty, screen } from '../ui.js';

const TONE = {
  waiting: 'neutral', sending: 'info', submitted: 'info', done: 'success', refused: 'danger', failed: 'warning',
};

export async function syncView() {
  const [inspections, findings, photos, catalogue, lastSync] = await Promise.all([
    store.all('inspections'),
    store.all('findings'),
    store.all('photos'),
    store.kvGet('catalogue'),
    store.kvGet('last_sync'),
  ]);
  const titles = new Map((catalogue?.items || []).map((item) => [item.code, item.title]));
  const queued = inspections
    .filter((inspection) => inspection.status !== 'open')
    .sort((a, b) => (b.finished_at || '').localeCompare(a.finished_at || ''));
  const anyFailed =
    queued.some((i) => i.status === 'failed' || i.status === 'refused') ||
    photos.some((photo) => photo.state === 'failed');
  const storage = await storageUse();
  return screen(
    t('sync_title'),
    {},
    h('div', { class: 'sync-status', id: 'sync-status', 'aria-live': 'polite' },
      badge(navigator.onLine ? t('online') : t('offline'), navigator.onLine ? 'success' : 'warning'),
      state.running ? h('span', {}, t('syncing')) : null,
      state.otherTab ? h('span', {}, t('sync_other_tab')) : null,
      lastSync ? h('span', { class: 'meta' }, t('last_sync', { time: formatDateTime(lastSync) })) : null,
      storage ? h('span', { class: 'meta' }, t('storage_use', { used: formatBytes(storage) })) : null),
    h('div', { class: 'actions-row' },
      button(t('sync_now'), () => syncNow(), { id: 'sync-now', kind: 'secondary', disabled: !navigator.onLine || state.running || undefined }),
      anyFailed ? button(t('retry_failed'), () => retryFailed(), { id: 'retry-failed' }) : null),
    queued.length
      ? h('ul', { class: 'cards', id: 'queue' }, queued.map((inspection) =>
          inspectionCard(inspection, findings.filter((f) => f.inspection_uuid === inspection.uuid), photos, titles)))
      : empty(t('sync_empty')),
  );
}

async function storageUse() {
  try {
    return (await navigator.storage?.estimate())?.usage ?? null;
  } catch {
    return null;
  }
}

function inspectionCard(inspection, findings, photos, titles) {
  return h('li', { class: 'card sync-card', dataset: { inspection: inspection.uuid, status: inspection.status } },
    h('div', { class: 'card-top' },
      badge(t(`insp_${inspection.status}`), TONE[inspection.status] || 'neutral'),
      h('span', { class: 'meta' }, formatDateTime(inspection.finished_at || inspection.started_at))),
    h('strong', { class: 'card-title' }, inspection.project_name),
    inspection.error && ['refused', 'failed'].includes(inspection.status)
      ? h('p', { class: 'reason' }, problemText(inspection.error))
      : null,
    findings.length
      ? h('ol', { class: 'finding-rows' }, findings.map((finding) =>
          h('li', {},
            h('span', {}, titles.get(finding.violation_code) || finding.violation_code),
            finding.review_status ? badge(t(`review_${finding.review_status}`), 'muted') : null,
            h('ul', { class: 'photo-rows' }, photos
              .filter((photo) => photo.finding_uuid === finding.uuid)
              .sort((a, b) => a.added_at.localeCompare(b.added_at))
              .map((photo, index) => photoRow(photo, index))))))
      : h('p', { class: 'meta' }, t('clean_inspection')));
}

function photoRow(photo, index) {
  return h('li', { class: `photo-row photo-${photo.state}`, dataset: { photo: photo.uuid, state: photo.state } },
    h('span', {}, t('photo_n', { n: index + 1 })),
    h('span', { class: 'photo-state' }, photoStateText(photo)),
    photo.state === 'uploading'
      ? h('progress', { max: photo.size, value: photo.sent || 0, 'aria-label': photoStateText(photo) })
      : null);
}

export function photoStateText(photo) {
  switch (photo.state) {
    case 'uploading':
      return t('photo_uploading', { percent: formatPercent((photo.sent || 0) / photo.size) });
    case 'refused':
      return t('photo_refused', { reason: rejectionText(photo.reason?.code || 'unknown') });
    default:
      return t(`photo_${photo.state}`);
  }
}
