// Photos as the inspector adds them: checked here against the server's rules (types, 25 MiB)
// so a refusal is explained on the spot, hashed (SHA-256 is declared in the finding's photo
// slot and checked by the server on the last byte), and kept as Blobs in IndexedDB.

export const MAX_PHOTO_BYTES = 25 * 1024 * 1024;
export const MAX_PHOTOS_PER_FINDING = 10;
const TYPES = ['image/jpeg', 'image/heic', 'image/heif', 'image/png', 'image/webp'];
// Some phones hand HEIC files over with an empty or generic type; the name still tells.
const BY_EXTENSION = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  heic: 'image/heic',
  heif: 'image/heif',
  png: 'image/png',
  webp: 'image/webp',
};

export function contentTypeOf(file) {
  if (TYPES.includes(file.type)) return file.type;
  const extension = (file.name || '').split('.').pop().toLowerCase();
  return BY_EXTENSION[extension] || null;
}

/** null when the file may be sent, else the i18n key explaining why not. */
export function refusalOf(file) {
  if (!contentTypeOf(file)) return 'photo_bad_type';
  if (file.size === 0) return 'photo_empty';
  if (file.size > MAX_PHOTO_BYTES) return 'photo_too_big';
  return null;
}

export async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** The device record of one photo, before it is attached to a finding. */
export async function photoRecord(file, { inspectionUuid, findingUuid }) {
  const type = contentTypeOf(file);
  // A copy with the resolved type: what is hashed is exactly what will be uploaded.
  const blob = new Blob([await file.arrayBuffer()], { type });
  return {
    uuid: crypto.randomUUID(),
    inspection_uuid: inspectionUuid,
    finding_uuid: findingUuid,
    blob,
    name: file.name || 'photo',
    type,
    size: blob.size,
    sha256: await sha256Hex(blob),
    added_at: new Date().toISOString(),
    state: 'waiting',
    sent: 0,
    upload_url: null,
    reason: null,
  };
}

const urls = new Map();

/** An object URL for showing a stored photo; one per photo, revoked when it leaves the screen. */
export function previewUrl(photo) {
  if (!photo.blob) return null;
  if (!urls.has(photo.uuid)) urls.set(photo.uuid, URL.createObjectURL(photo.blob));
  return urls.get(photo.uuid);
}

export function releasePreviews() {
  for (const url of urls.values()) URL.revokeObjectURL(url);
  urls.clear();
}
