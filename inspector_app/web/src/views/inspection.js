import * as store from '../db.js';
import { h } from '../dom.js';
import { consent, currentPosition, setConsent } from '../geo.js';
import { formatDateTime, formatNumber, t } from '../i18n.js';
import {
  dropEmptyDrafts,
  findingsOf,
  findingsReadyToSend,
  finishInspection,
  photosOf,
} from '../records.js';
import { badge, button, confirmAction, empty, linkButton, notice, screen } from '../ui.js';

export async function inspectionView({ uuid, go, syncSoon }) {
  const inspection = await store.get('inspections', uuid);
  if (!inspection) return screen(t('not_found'), { back: '#/today' }, empty(t('not_found')));
  const editable = inspection.status === 'open';
  const catalogue = await store.kvGet('catalogue');
  const titles = new Map((catalogue?.items || []).map((item) => [item.code, item]));
  const findings = editable ? await dropEmptyDrafts(uuid) : await findingsOf(uuid);
  const photoCounts = await Promise.all(findings.map(async (f) => (await photosOf(f.uuid)).length));

  const note = h('textarea', { id: 'note', rows: 3, maxlength: 2000, readonly: !editable || undefined }, inspection.note || '');
  note.addEventListener('change', () =>
    store.update('inspections', uuid, () => ({ note: note.value })),
  );

  const problems = h('div', { class: 'messages', 'aria-live': 'assertive' });
  const finish = async () => {
    const wrong = await findingsReadyToSend(uuid, catalogue);
    if (wrong.length) {
      problems.replaceChildren(...wrong.map(({ finding, key, vars }) =>
        notice(`${titles.get(finding.violation_code)?.title || t('finding_title')}：${t(key, vars)}`, 'error')));
      return;
    }
    const message = findings.length
      ? t('confirm_finish', { count: formatNumber(findings.length) })
      : t('confirm_clean');
    if (!(await confirmAction(message, findings.length ? t('finish') : t('finish_clean')))) return;
    await store.update('inspections', uuid, () => ({ note: note.value }));
    await finishInspection(uuid);
    syncSoon();
    go('#/sync');
  };
  const discard = async () => {
    if (!(await confirmAction(t('confirm_discard'), t('discard')))) return;
    await store.deleteInspection(uuid);
    go('#/today');
  };

  return screen(
    inspection.project_name,
    { back: '#/today' },
    h('dl', { class: 'facts' },
      h('dt', {}, t('started')), h('dd', {}, formatDateTime(inspection.started_at)),
      h('dt', {}, t('location')), h('dd', { id: 'inspection-location' }, await locationPart(inspection, editable))),
    h('label', { for: 'note' }, t('note')),
    note,
    h('h2', {}, t('findings')),
    findings.length
      ? h('ul', { class: 'cards', id: 'findings' }, findings.map((finding, index) =>
          findingCard(finding, titles.get(finding.violation_code), photoCounts[index], editable)))
      : empty(t('no_findings_yet')),
    problems,
    editable
      ? h('div', { class: 'actions' },
          linkButton(t('add_finding'), `#/finding/${uuid}/new`, { kind: 'secondary', id: 'add-finding' }),
          button(findings.length ? t('finish') : t('finish_clean'), finish, { id: 'finish' }),
          button(t('discard'), discard, { kind: 'link' }))
      : notice(t('queued_note')),
  );
}

function findingCard(finding, rule, photoCount, editable) {
  const body = [
    h('div', { class: 'card-top' },
      rule ? badge(t(`severity_${rule.severity}`), rule.severity === 'serious' ? 'danger' : 'warning') : null,
      h('span', { class: 'meta' }, `${t('photos')} ${formatNumber(photoCount)}`)),
    h('strong', { class: 'card-title' }, rule ? rule.title : finding.violation_code),
    finding.description ? h('span', { class: 'meta' }, finding.description) : null,
  ];
  return h('li', { class: 'card' },
    editable ? h('a', { class: 'card-link', href: `#/finding/${finding.inspection_uuid}/${finding.uuid}` }, ...body) : body);
}

export function locationText(location) {
  if (!location) return t('location_none');
  return t('location_value', {
    lat: location.lat.toFixed(5),
    lon: location.lon.toFixed(5),
    acc: formatNumber(location.accuracy_m ?? 0),
  });
}

/** The inspection's position, or, before the inspector agreed, a button that explains why. */
async function locationPart(inspection, editable) {
  const agreed = await consent();
  if (inspection.location || !editable || agreed === false) {
    return h('span', {}, locationText(inspection.location), agreed === false ? h('small', { class: 'hint' }, t('location_denied')) : null);
  }
  const holder = h('span', {});
  const ask = button(t('location_ask'), async () => {
    ask.disabled = true;
    ask.textContent = t('location_getting');
    await setConsent(true);
    const location = await currentPosition();
    if (!location) await setConsent(false);
    await store.update('inspections', inspection.uuid, () => ({ location }));
    holder.replaceChildren(locationText(location), location ? '' : h('small', { class: 'hint' }, t('location_denied')));
  }, { kind: 'secondary', id: 'ask-location' });
  holder.append(h('small', { class: 'hint' }, t('location_why')), ask);
  return holder;
}
