import * as store from '../db.js';
import { h } from '../dom.js';
import { formatDateTime, t } from '../i18n.js';
import { openInspectionFor, startInspection } from '../records.js';
import { inspectionsAtProject } from '../sync.js';
import { badge, button, empty, notice, screen } from '../ui.js';

export async function projectView({ id, go }) {
  const project = await store.get('projects', Number(id));
  if (!project) return screen(t('not_found'), { back: '#/projects' }, empty(t('not_found')));
  const local = await store.byIndex('inspections', 'project_id', project.id);
  const history = h('div', { class: 'history', 'aria-live': 'polite' });
  renderHistory(history, local, null);
  if (navigator.onLine) {
    inspectionsAtProject(project.id)
      .then((answer) => renderHistory(history, local, answer.items))
      .catch(() => renderHistory(history, local, null));
  }
  const start = button(t('start_inspection'), async () => {
    const existing = openInspectionFor({ projectId: project.id }, local);
    const inspection = existing || (await startInspection({ project }));
    go(`#/inspection/${inspection.uuid}`);
  }, { id: 'start-inspection' });
  return screen(
    project.name,
    { back: '#/projects' },
    h('dl', { class: 'facts' },
      h('dt', {}, t('address')), h('dd', {}, project.address),
      project.enterprise ? [h('dt', {}, t('enterprise')), h('dd', {}, project.enterprise.name)] : null),
    start,
    h('h2', {}, t('project_history')),
    history,
  );
}

/** This device's inspections first (some may not be on the server yet), then the server's. */
function renderHistory(node, local, server) {
  const seen = new Set(local.map((inspection) => inspection.uuid));
  const rows = [
    ...local.map((inspection) => ({
      uuid: inspection.uuid,
      started_at: inspection.started_at,
      label: t(`insp_${inspection.status === 'open' ? 'draft' : inspection.status}`),
      href: inspection.status === 'open' ? `#/inspection/${inspection.uuid}` : '#/sync',
    })),
    ...(server || [])
      .filter((inspection) => !seen.has(inspection.inspection_uuid))
      .map((inspection) => ({
        uuid: inspection.inspection_uuid,
        started_at: inspection.started_at,
        label: inspection.findings.length
          ? t('findings_count', { count: inspection.findings.length })
          : t('clean_result'),
        review: inspection.findings.map((finding) => finding.review_status),
      })),
  ].sort((a, b) => b.started_at.localeCompare(a.started_at));
  node.replaceChildren(
    server === null && !navigator.onLine ? notice(t('history_offline')) : '',
    rows.length
      ? h('ul', { class: 'rows' }, rows.map(historyRow))
      : empty(t('history_empty')),
  );
}

function historyRow(row) {
  const content = [
    h('span', {}, formatDateTime(row.started_at)),
    badge(row.label, 'neutral'),
    ...(row.review || []).map((status) => badge(t(`review_${status}`), status === 'confirmed' ? 'danger' : 'muted')),
  ];
  return h('li', {}, row.href ? h('a', { href: row.href }, ...content) : content);
}
