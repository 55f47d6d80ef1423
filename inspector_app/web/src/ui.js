// Shared pieces of the screens: the page header, buttons, state badges and the confirm dialog.
// Touch targets are at least 48 px high (see app.css); the main action sits at the bottom,
// within a thumb's reach.

import { h } from './dom.js';
import { t } from './i18n.js';

export function screen(title, { back, actions = [] } = {}, ...content) {
  return h(
    'section',
    { class: 'screen', 'aria-labelledby': 'screen-title' },
    h(
      'header',
      { class: 'screen-header' },
      back ? h('a', { class: 'back', href: back, 'aria-label': t('back') }, '‹') : null,
      h('h1', { id: 'screen-title', tabindex: '-1' }, title),
      ...actions,
    ),
    h('div', { class: 'screen-body' }, ...content),
  );
}

export function button(label, onClick, { kind = 'primary', type = 'button', ...attrs } = {}) {
  return h('button', { type, class: `btn btn-${kind}`, onClick, ...attrs }, label);
}

export function linkButton(label, href, { kind = 'primary', ...attrs } = {}) {
  return h('a', { class: `btn btn-${kind}`, href, ...attrs }, label);
}

export function badge(text, tone) {
  return h('span', { class: `badge badge-${tone}` }, text);
}

export function notice(text, tone = 'info') {
  return h('p', { class: `notice notice-${tone}`, role: tone === 'error' ? 'alert' : 'status' }, text);
}

export function empty(text) {
  return h('p', { class: 'empty' }, text);
}

/** A modal question; resolves to the chosen choice's value (or null on cancel). */
export function ask(message, choices) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'dialog', 'aria-label': message });
    const close = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    dialog.append(
      h('p', {}, message),
      h(
        'div',
        { class: 'dialog-actions' },
        ...choices.map((choice) =>
          button(choice.label, () => close(choice.value), {
            kind: choice.kind || 'secondary',
            dataset: { choice: String(choice.value) },
          }),
        ),
      ),
    );
    dialog.addEventListener('cancel', () => close(null));
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function confirmAction(message, okLabel = t('ok')) {
  return ask(message, [
    { label: t('cancel'), value: false },
    { label: okLabel, value: true, kind: 'primary' },
  ]).then(Boolean);
}
