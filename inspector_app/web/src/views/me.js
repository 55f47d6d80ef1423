import { session, signOutOnServer } from '../api.js';
import * as store from '../db.js';
import { h } from '../dom.js';
import { lang, t } from '../i18n.js';
import { pendingWork, syncNow } from '../sync.js';
import { ask, button, screen } from '../ui.js';

export async function meView({ version, onLanguage, onSignedOut, go }) {
  const current = await session();
  const inspector = current?.inspector;
  const choose = (value) => async () => {
    await store.kvSet('lang', value);
    onLanguage(value);
  };
  return screen(
    t('me_title'),
    {},
    h('dl', { class: 'facts' },
      h('dt', {}, t('inspector')), h('dd', {}, inspector?.name || current?.username || ''),
      h('dt', {}, t('regions')), h('dd', { id: 'regions' }, regionList(inspector))),
    h('h2', {}, t('language')),
    h('div', { class: 'actions-row', role: 'group', 'aria-label': t('language') },
      button('中文', choose('zh'), { kind: lang() === 'zh' ? 'primary' : 'secondary', 'aria-pressed': String(lang() === 'zh'), lang: 'zh-CN' }),
      button('English', choose('en'), { kind: lang() === 'en' ? 'primary' : 'secondary', 'aria-pressed': String(lang() === 'en'), lang: 'en' })),
    h('p', { class: 'hint' }, t('install_hint')),
    button(t('sign_out'), () => signOut({ onSignedOut, go }), { kind: 'danger', id: 'sign-out' }),
    h('p', { class: 'meta' }, t('app_version', { version })),
  );
}

function regionList(inspector) {
  const names = inspector?.region_names || {};
  return (inspector?.regions || []).map((code) => names[code] || code).join('、');
}

/** Sign-out wipes the device, so it first says what has not reached the server. */
async function signOut({ onSignedOut, go }) {
  const pending = await pendingWork();
  if (pending.inspections || pending.photos) {
    const choice = await ask(t('unsynced_warning', pending), [
      { label: t('sync_first'), value: 'sync', kind: 'primary' },
      { label: t('sign_out_anyway'), value: 'wipe', kind: 'danger' },
      { label: t('cancel'), value: null },
    ]);
    if (choice === 'sync') {
      syncNow();
      go('#/sync');
      return;
    }
    if (choice !== 'wipe') return;
  } else if (!(await ask(t('confirm_sign_out'), [
    { label: t('cancel'), value: null },
    { label: t('sign_out'), value: 'ok', kind: 'danger' },
  ]))) {
    return;
  }
  await signOutOnServer();
  await store.wipe();
  if ('caches' in self) await caches.delete('wuye-catalogue');
  onSignedOut();
}
