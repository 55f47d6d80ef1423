// The device's store (IndexedDB through `idb`). Everything the inspector records lives here
// until the server confirms it: inspections, findings and the photo files themselves (Blobs
// survive reloads, app closes and phone restarts; localStorage could not hold them).
//
// Upgrades only ever add stores or indexes: a new app version must never drop queued work.

import { openDB } from 'idb';

const NAME = 'wuye-inspector';
const VERSION = 1;
export const STORES = ['kv', 'projects', 'tasks', 'inspections', 'findings', 'photos'];

let opened;

export function db() {
  if (!opened) {
    opened = openDB(NAME, VERSION, {
      upgrade(database, oldVersion) {
        if (oldVersion < 1) createVersion1(database);
      },
      blocking() {
        // Another tab runs a newer app that needs a newer schema: let it upgrade.
        opened.then((database) => database.close());
        opened = undefined;
        window.location.reload();
      },
    });
  }
  return opened;
}

function createVersion1(database) {
  database.createObjectStore('kv');
  database.createObjectStore('projects', { keyPath: 'id' });
  database.createObjectStore('tasks', { keyPath: 'id' });
  const inspections = database.createObjectStore('inspections', { keyPath: 'uuid' });
  inspections.createIndex('project_id', 'project_id');
  inspections.createIndex('status', 'status');
  const findings = database.createObjectStore('findings', { keyPath: 'uuid' });
  findings.createIndex('inspection_uuid', 'inspection_uuid');
  const photos = database.createObjectStore('photos', { keyPath: 'uuid' });
  photos.createIndex('finding_uuid', 'finding_uuid');
  photos.createIndex('inspection_uuid', 'inspection_uuid');
}

export async function kvGet(key) {
  return (await db()).get('kv', key);
}

export async function kvSet(key, value) {
  return (await db()).put('kv', value, key);
}

export async function get(store, key) {
  return (await db()).get(store, key);
}

export async function put(store, value) {
  return (await db()).put(store, value);
}

export async function remove(store, key) {
  return (await db()).delete(store, key);
}

export async function all(store) {
  return (await db()).getAll(store);
}

export async function byIndex(store, index, value) {
  return (await db()).getAllFromIndex(store, index, value);
}

/** Read-modify-write of one record in one transaction, so two tabs cannot lose an update. */
export async function update(store, key, change) {
  const tx = (await db()).transaction(store, 'readwrite');
  const current = await tx.store.get(key);
  if (current === undefined) {
    await tx.done;
    return undefined;
  }
  const next = { ...current, ...change(current) };
  await tx.store.put(next);
  await tx.done;
  return next;
}

/** Replace a store's content with `items` (the full download of the compounds). */
export async function replaceAll(store, items) {
  const tx = (await db()).transaction(store, 'readwrite');
  await tx.store.clear();
  await Promise.all(items.map((item) => tx.store.put(item)));
  await tx.done;
}

export async function putMany(store, items) {
  const tx = (await db()).transaction(store, 'readwrite');
  await Promise.all(items.map((item) => tx.store.put(item)));
  await tx.done;
}

/** Save an inspection's records together: a finding is never stored without its photos. */
export async function saveFinding(finding, photos, removedPhotoUuids = []) {
  const tx = (await db()).transaction(['findings', 'photos'], 'readwrite');
  await Promise.all([
    tx.objectStore('findings').put(finding),
    ...photos.map((photo) => tx.objectStore('photos').put(photo)),
    ...removedPhotoUuids.map((uuid) => tx.objectStore('photos').delete(uuid)),
  ]);
  await tx.done;
}

export async function deleteInspection(uuid) {
  const database = await db();
  const tx = database.transaction(['inspections', 'findings', 'photos'], 'readwrite');
  const findings = await tx.objectStore('findings').index('inspection_uuid').getAllKeys(uuid);
  const photos = await tx.objectStore('photos').index('inspection_uuid').getAllKeys(uuid);
  await Promise.all([
    tx.objectStore('inspections').delete(uuid),
    ...findings.map((key) => tx.objectStore('findings').delete(key)),
    ...photos.map((key) => tx.objectStore('photos').delete(key)),
  ]);
  await tx.done;
}

/** Sign-out: every store emptied in one transaction. */
export async function wipe() {
  const tx = (await db()).transaction(STORES, 'readwrite');
  await Promise.all(STORES.map((name) => tx.objectStore(name).clear()));
  await tx.done;
}
