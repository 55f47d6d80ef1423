import * as store from '../db.js';
import { h } from '../dom.js';
import { formatDateTime, formatNumber, t } from '../i18n.js';
import { MAX_PHOTOS_PER_FINDING, photoRecord, previewUrl, refusalOf } from '../photos.js';
import { deleteFinding, groupedCatalogue, newFinding, photosOf } from '../records.js';
import { button, confirmAction, empty, notice, screen } from '../ui.js';
import { locationText } from './inspection.js';

const ACCEPT = 'image/jpeg,image/heic,image/heif,image/png,image/webp,.heic,.heif';

export async function findingView({ inspectionUuid, uuid, go }) {
  const inspection = await store.get('inspections', inspectionUuid);
  if (!inspection || inspection.status !== 'open') {
    return screen(t('not_found'), { back: '#/today' }, empty(t('not_found')));
  }
  if (uuid === 'new') {
    // Stored at once, so photos taken before "save" survive a reload or a closed app.
    const draft = await newFinding(inspectionUuid);
    await store.put('findings', draft);
    history.replaceState(null, '', `#/finding/${inspectionUuid}/${draft.uuid}`);
    uuid = draft.uuid;
  }
  const finding = await store.get('findings', uuid);
  if (!finding) return screen(t('not_found'), { back: `#/inspection/${inspectionUuid}` }, empty(t('not_found')));
  const catalogue = await store.kvGet('catalogue');
  const back = `#/inspection/${inspectionUuid}`;
  const messages = h('div', { class: 'messages', 'aria-live': 'assertive' });
  const gallery = h('ul', { class: 'photo-grid', id: 'photos' });
  const description = h('textarea', { id: 'description', rows: 4, maxlength: 4000, placeholder: t('description_hint') }, finding.description || '');

  const selectedRule = () => {
    const checked = document.querySelector('input[name=violation]:checked');
    return (catalogue?.items || []).find((item) => item.code === checked?.value);
  };
  const persist = () => store.update('findings', uuid, () => ({
    violation_code: selectedRule()?.code || '',
    description: description.value,
  }));
  description.addEventListener('change', persist);

  const refreshPhotos = async () => {
    const photos = await photosOf(uuid);
    gallery.replaceChildren(...photos.map((photo, index) => photoTile(photo, index, async () => {
      await store.remove('photos', photo.uuid);
      refreshPhotos();
    })));
    return photos;
  };

  const addFiles = async (files) => {
    messages.replaceChildren();
    let count = (await photosOf(uuid)).length;
    for (const file of files) {
      const refusal = refusalOf(file);
      if (refusal) {
        messages.append(notice(t(refusal, { name: file.name }), 'error'));
        continue;
      }
      if (count >= MAX_PHOTOS_PER_FINDING) {
        messages.append(notice(t('too_many_photos', { count: MAX_PHOTOS_PER_FINDING }), 'error'));
        break;
      }
      try {
        await store.put('photos', await photoRecord(file, { inspectionUuid, findingUuid: uuid }));
        count += 1;
      } catch (error) {
        messages.append(notice(t('photo_storage_full'), 'error'));
        break;
      }
    }
    await refreshPhotos();
  };

  const save = async () => {
    messages.replaceChildren();
    const rule = selectedRule();
    const photos = await photosOf(uuid);
    if (!rule) {
      messages.append(notice(t('need_violation'), 'error'));
      return;
    }
    if (photos.length < rule.min_photos) {
      messages.append(notice(t('need_photos', { count: rule.min_photos, have: photos.length }), 'error'));
      return;
    }
    await persist();
    go(back);
  };
  const remove = async () => {
    if (!(await confirmAction(t('delete_finding'), t('delete_finding')))) return;
    await deleteFinding(uuid);
    go(back);
  };

  await refreshPhotos();
  return screen(
    t('finding_title'),
    { back },
    h('p', { class: 'meta' }, `${t('observed')}：${formatDateTime(finding.observed_at)} · ${locationText(finding.location)}`),
    violationPicker(catalogue, finding.violation_code, persist),
    h('label', { for: 'description' }, t('description')),
    description,
    h('h2', {}, t('photos')),
    gallery,
    h('div', { class: 'photo-inputs' },
      fileButton(t('take_photo'), 'camera-input', { capture: 'environment' }, addFiles),
      fileButton(t('pick_photo'), 'gallery-input', {}, addFiles)),
    messages,
    h('div', { class: 'actions' },
      button(t('save_finding'), save, { id: 'save-finding' }),
      button(t('delete_finding'), remove, { kind: 'link' })),
  );
}

function violationPicker(catalogue, chosen, onChange) {
  const groups = groupedCatalogue(catalogue);
  if (!groups.length) return empty(t('projects_none'));
  return h('div', { class: 'violations', role: 'radiogroup', 'aria-label': t('choose_violation') },
    h('h2', {}, t('violation')),
    groups.map(([severity, items]) =>
      h('fieldset', { class: `severity-${severity}` },
        h('legend', {}, t(`severity_${severity}`)),
        items.map((item) => {
          const id = `rule-${item.code}`;
          return h('label', { class: 'choice', for: id },
            h('input', { type: 'radio', name: 'violation', id, value: item.code, checked: item.code === chosen, onChange }),
            h('span', { class: 'choice-text' },
              h('span', {}, item.title),
              h('small', {}, `${t('points', { points: formatNumber(item.points, item.points % 1 ? 1 : 0) })} · ${t('min_photos', { count: item.min_photos })}`)));
        }))));
}

function fileButton(label, id, extra, onFiles) {
  const input = h('input', { type: 'file', id, accept: ACCEPT, multiple: true, class: 'visually-hidden', ...extra });
  input.addEventListener('change', async () => {
    const files = [...input.files];
    input.value = '';
    await onFiles(files);
  });
  return h('label', { class: 'btn btn-secondary file-button', for: id }, label, input);
}

function photoTile(photo, index, onRemove) {
  return h('li', { class: 'photo-tile' },
    h('img', { src: previewUrl(photo), alt: t('photo_n', { n: index + 1 }) }),
    h('button', { type: 'button', class: 'remove', 'aria-label': t('remove_photo'), onClick: onRemove }, '×'));
}
