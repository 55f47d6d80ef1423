import { ApiError, session, signIn } from '../api.js';
import { pendingWork } from '../sync.js';
import { h } from '../dom.js';
import { problemText, t } from '../i18n.js';
import { button, notice } from '../ui.js';

// The app's icon, from the page's own <link rel=icon> (its name carries the build's hash).
const ICON = document.querySelector('link[rel=icon]')?.getAttribute('href') || '';

export async function loginView({ onSignedIn }) {
  const previous = await session();
  const expired = Boolean(previous?.needs_sign_in);
  const pending = await pendingWork();
  const message = h('div', { 'aria-live': 'polite' });
  const username = h('input', {
    id: 'username',
    name: 'username',
    autocomplete: 'username',
    autocapitalize: 'none',
    required: true,
    value: previous?.username || '',
    readonly: expired && (pending.inspections || pending.photos) ? true : undefined,
  });
  const password = h('input', {
    id: 'password',
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const submit = button(t('sign_in'), null, { type: 'submit' });
  const form = h(
    'form',
    { class: 'sign-in', novalidate: true },
    h('label', { for: 'username' }, t('username')),
    username,
    h('label', { for: 'password' }, t('password')),
    password,
    submit,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!navigator.onLine) {
      message.replaceChildren(notice(t('sign_in_offline'), 'error'));
      return;
    }
    // A different person must not sign in over someone's unsynced evidence.
    if (previous?.username && previous.username !== username.value.trim() &&
        (pending.inspections || pending.photos)) {
      message.replaceChildren(notice(t('other_user_data', { name: previous.username }), 'error'));
      return;
    }
    submit.disabled = true;
    submit.textContent = t('signing_in');
    try {
      await signIn(username.value.trim(), password.value);
      onSignedIn();
    } catch (error) {
      const text =
        error instanceof ApiError && error.status
          ? problemText({ code: error.code, detail: error.problem.detail })
          : t('error_network');
      message.replaceChildren(notice(text, 'error'));
      submit.disabled = false;
      submit.textContent = t('sign_in');
    }
  });
  return h(
    'section',
    { class: 'screen screen-login' },
    h('p', { class: 'brand' }, h('img', { src: ICON, alt: '', width: 48, height: 48 }), t('app_name')),
    h('h1', { id: 'screen-title', tabindex: '-1' }, t('sign_in_title')),
    h('p', { class: 'hint' }, t('sign_in_hint')),
    expired ? notice(t('sign_in_again'), 'warning') : null,
    form,
    message,
  );
}
