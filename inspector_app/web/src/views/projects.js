import * as store from '../db.js';
import { h } from '../dom.js';
import { formatNumber, t } from '../i18n.js';
import { empty, screen } from '../ui.js';

const SHOWN = 50;

/** Normalised for matching: case and full-width/half-width differences do not matter. */
function fold(text) {
  return (text || '').normalize('NFKC').toLowerCase().replace(/\s+/g, '');
}

export function matches(project, query) {
  const wanted = fold(query);
  if (!wanted) return true;
  return [project.name, project.address, project.enterprise?.name].some((field) =>
    fold(field).includes(wanted),
  );
}

export async function projectsView({ query = '' }) {
  const projects = (await store.all('projects')).sort((a, b) =>
    a.name.localeCompare(b.name, 'zh-Hans-CN'),
  );
  const list = h('ul', { class: 'cards', id: 'projects' });
  const count = h('p', { class: 'meta', 'aria-live': 'polite' });
  const search = h('input', {
    id: 'project-search',
    type: 'search',
    value: query,
    placeholder: t('search_placeholder'),
    'aria-label': t('search_label'),
    enterkeyhint: 'search',
  });
  const show = () => {
    const found = projects.filter((project) => matches(project, search.value));
    const shown = found.slice(0, SHOWN);
    list.replaceChildren(...shown.map(projectCard));
    if (!projects.length) count.replaceChildren(empty(t('projects_none')));
    else if (!found.length) count.replaceChildren(empty(t('projects_empty')));
    else if (found.length > shown.length) {
      count.textContent = t('projects_shown', {
        shown: formatNumber(shown.length),
        count: formatNumber(found.length),
      });
    } else count.textContent = t('projects_count', { count: formatNumber(found.length) });
    history.replaceState(null, '', `#/projects?q=${encodeURIComponent(search.value)}`);
  };
  search.addEventListener('input', show);
  show();
  return screen(t('projects_title'), {}, h('div', { class: 'search' }, search), count, list);
}

function projectCard(project) {
  return h(
    'li',
    { class: 'card' },
    h(
      'a',
      { class: 'card-link', href: `#/project/${project.id}` },
      h('strong', { class: 'card-title' }, project.name),
      h('span', { class: 'meta' }, project.address),
      h('span', { class: 'meta' }, project.enterprise ? project.enterprise.name : t('no_enterprise')),
    ),
  );
}
