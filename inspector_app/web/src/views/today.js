import * as store from '../db.js';
import { h } from '../dom.js';
import { formatDate, formatDateTime, t, todayInShanghai } from '../i18n.js';
import { openInspectionFor, startInspection } from '../records.js';
import { badge, button, empty, screen } from '../ui.js';

const OPEN_TASK = new Set(['assigned', 'in_progress']);

function byUrgency(a, b) {
  return (
    (a.due_date || '9999').localeCompare(b.due_date || '9999') ||
    (a.priority_rank ?? 1e9) - (b.priority_rank ?? 1e9)
  );
}

export async function todayView({ go }) {
  const [tasks, inspections, syncedAt] = await Promise.all([
    store.all('tasks'),
    store.all('inspections'),
    store.kvGet('tasks_synced_at'),
  ]);
  const open = tasks.filter((task) => OPEN_TASK.has(task.status)).sort(byUrgency);
  const closed = tasks.filter((task) => !OPEN_TASK.has(task.status));
  const drafts = inspections.filter((inspection) => inspection.status === 'open');
  return screen(
    t('today_title'),
    {},
    h('p', { class: 'meta' }, syncedAt ? t('data_as_of', { time: formatDateTime(syncedAt) }) : t('never_synced')),
    drafts.length
      ? h(
          'div',
          { class: 'group' },
          h('h2', {}, t('open_inspections')),
          h('ul', { class: 'cards' }, drafts.map((draft) => draftCard(draft))),
        )
      : null,
    open.length
      ? h('ul', { class: 'cards', id: 'tasks' }, open.map((task) => taskCard(task, inspections, go)))
      : empty(t('tasks_empty')),
    closed.length
      ? h(
          'details',
          { class: 'group' },
          h('summary', {}, `${t('tasks_done')}（${closed.length}）`),
          h('ul', { class: 'cards' }, closed.map((task) => taskCard(task, inspections, go))),
        )
      : null,
  );
}

function draftCard(inspection) {
  return h(
    'li',
    { class: 'card' },
    h('a', { class: 'card-link', href: `#/inspection/${inspection.uuid}` },
      h('strong', {}, inspection.project_name),
      h('span', { class: 'meta' }, formatDateTime(inspection.started_at)),
      badge(t('continue_inspection'), 'info')),
  );
}

function taskCard(task, inspections, go) {
  const overdue = task.due_date && task.due_date < todayInShanghai() && OPEN_TASK.has(task.status);
  const local = inspections.find((inspection) => inspection.task_id === task.id);
  const action = taskAction(task, local, inspections, go);
  return h(
    'li',
    { class: 'card task', dataset: { taskId: String(task.id) } },
    h('div', { class: 'card-top' },
      badge(t(`kind_${task.kind}`), task.kind === 'complaint' ? 'warning' : 'info'),
      badge(t(`status_${task.status}`), OPEN_TASK.has(task.status) ? 'neutral' : 'muted'),
      overdue ? badge(t('overdue'), 'danger') : null),
    h('strong', { class: 'card-title' }, task.project.name),
    h('span', { class: 'meta' }, task.project.address),
    task.enterprise ? h('span', { class: 'meta' }, task.enterprise.name) : null,
    h('span', { class: 'meta' },
      task.due_date ? t('due', { date: formatDate(task.due_date) }) : '',
      task.priority_rank ? ` · ${t('rank', { rank: task.priority_rank })}` : ''),
    task.reasons?.length ? h('ul', { class: 'reasons' }, task.reasons.map((reason) => h('li', {}, reason))) : null,
    action,
  );
}

function taskAction(task, local, inspections, go) {
  if (!OPEN_TASK.has(task.status)) return null;
  if (local && local.status === 'open') {
    return button(t('continue_inspection'), () => go(`#/inspection/${local.uuid}`));
  }
  if (local) return h('p', { class: 'meta' }, t('queued_note'));
  return button(t('start_at_task'), async () => {
    const existing = openInspectionFor({ projectId: task.project.id, taskId: task.id }, inspections);
    const inspection = existing || (await startInspection({ project: task.project, taskId: task.id }));
    go(`#/inspection/${inspection.uuid}`);
  });
}
