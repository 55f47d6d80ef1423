// Sync: the device's queue to the server, then the server's lists to the device.
//
// Order of an inspection's push, each step idempotent by the client's UUIDs (CONTRACTS.md):
//   PUT inspection → PUT each finding (declares its photo slots) → tus upload of each photo →
//   POST submit → GET the inspection until every photo is processed or refused.
// Nothing leaves the device before the server confirms it: a photo's bytes are dropped only
// once the server says `processed`. One tab syncs at a time (Web Lock `wuye-sync`); the others
// watch the same IndexedDB records and hear about changes on a BroadcastChannel.

import { Upload } from 'tus-js-client';
import { ApiError, BASE, SignInNeeded, accessToken, call, json } from './api.js';
import * as store from './db.js';

const TUS_ENDPOINT = `${BASE}/uploads/`;
// After a dropped connection the upload resumes at once (the server's HEAD waits until it has
// stored what the cut request delivered); tus-js-client restarts this list whenever an attempt
// made progress, so only a link that stays down backs off.
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000];
// One PATCH carries at most this much. When a reused connection dies before any answer the
// browser resends the whole request by itself, and the server must read a resend it refuses:
// smaller requests bound that waste; larger ones cost fewer round trips on a good link.
// Measured (bench/bench_inspector_app.py, 20 photos over a link cut every 2 MiB): whole-file
// requests kept 0.47 of the uncut goodput, 512 KiB 0.74, 256 KiB 0.84, with the uncut link
// as fast each time (97 % of its rate).
const CHUNK_BYTES = 256 * 1024;
const PROGRESS_SAVE_MS = 500;
const PROJECTS_REFRESH_MS = 6 * 3600 * 1000;
const PAGE = 200;
const CHECKSUM_ATTEMPTS = 2;
// Final states of a photo on the server; the device forgets a photo's bytes on `processed`.
const SERVER_FINAL = new Set(['processed', 'rejected']);
const SENDABLE = new Set(['waiting', 'failed', 'sending', 'submitted']);

export const state = { running: false, otherTab: false, error: null, lastSync: null };

const listeners = new Set();
const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('wuye-sync') : null;
if (channel) channel.onmessage = (event) => notify(event.data, { local: true });

export function onChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify(what, { local = false } = {}) {
  for (const listener of listeners) listener(what);
  if (!local && channel) channel.postMessage(what);
}

/** Run one sync pass unless another tab is already running one. */
export async function syncNow() {
  if (!navigator.onLine) return 'offline';
  if (!navigator.locks) return runPass();
  return navigator.locks.request('wuye-sync', { ifAvailable: true }, async (lock) => {
    state.otherTab = !lock;
    if (!lock) {
      notify('status', { local: true });
      return 'busy';
    }
    return runPass();
  });
}

async function runPass() {
  state.running = true;
  state.error = null;
  notify('status', { local: true });
  try {
    await pushAll();
    await pullAll();
    state.lastSync = new Date().toISOString();
    await store.kvSet('last_sync', state.lastSync);
    return 'done';
  } catch (error) {
    state.error = error;
    if (error instanceof SignInNeeded) notify('sign_in', { local: true });
    return 'failed';
  } finally {
    state.running = false;
    notify('status', { local: true });
  }
}

/** Is there anything the server does not have yet? (drives the sync timer and sign-out) */
export async function pendingWork() {
  const inspections = (await store.all('inspections')).filter(
    (inspection) => inspection.status !== 'open' && inspection.status !== 'done',
  );
  const photos = (await store.all('photos')).filter(
    (photo) => !['accepted', 'refused'].includes(photo.state),
  );
  return { inspections: inspections.length, photos: photos.length };
}

/** The retry button: everything that failed goes back to the queue. */
export async function retryFailed() {
  for (const inspection of await store.all('inspections')) {
    if (inspection.status === 'failed' || inspection.status === 'refused') {
      await store.update('inspections', inspection.uuid, () => ({ status: 'waiting', error: null }));
    }
  }
  for (const photo of await store.all('photos')) {
    if (photo.state === 'failed') {
      await store.update('photos', photo.uuid, () => ({ state: 'waiting', reason: null }));
    }
  }
  notify('queue');
  return syncNow();
}

// --- push ------------------------------------------------------------------------------

async function pushAll() {
  const queue = (await store.all('inspections'))
    .filter((inspection) => SENDABLE.has(inspection.status))
    .sort((a, b) => (a.finished_at || '').localeCompare(b.finished_at || ''));
  for (const inspection of queue) {
    await pushInspection(inspection.uuid);
  }
}

async function pushInspection(uuid) {
  try {
    let inspection = await setInspection(uuid, (current) => ({
      status: current.submitted ? 'submitted' : 'sending',
      error: null,
    }));
    if (!inspection.declared) inspection = await declareInspection(inspection);
    const findings = await store.byIndex('findings', 'inspection_uuid', uuid);
    for (const finding of findings) {
      if (!finding.declared) await declareFinding(finding);
    }
    for (const photo of await store.byIndex('photos', 'inspection_uuid', uuid)) {
      if (['waiting', 'failed', 'uploading'].includes(photo.state)) await uploadOrNote(photo);
    }
    if (!inspection.submitted) inspection = await submit(inspection, findings);
    await followServer(uuid);
  } catch (error) {
    if (error instanceof SignInNeeded) {
      await setInspection(uuid, () => ({ status: 'waiting' }));
      throw error;
    }
    const refused = error instanceof ApiError && !error.transient;
    await setInspection(uuid, () => ({
      status: refused ? 'refused' : 'failed',
      error: problemSummary(error),
    }));
    if (!refused && error instanceof ApiError && error.status === 0) throw error; // offline: stop
  }
}

/** A photo the server refuses keeps its reason on the device; the other photos go on. */
async function uploadOrNote(photo) {
  try {
    await uploadPhoto(photo);
  } catch (error) {
    if (error instanceof SignInNeeded || !(error instanceof ApiError) || error.transient) throw error;
  }
}

function problemSummary(error) {
  if (!(error instanceof ApiError)) return { code: 'client_error', detail: String(error) };
  return { code: error.code, detail: error.problem.detail || '', status: error.status };
}

async function setInspection(uuid, change) {
  const next = await store.update('inspections', uuid, change);
  notify('queue');
  return next;
}

function declareInspection(inspection) {
  return json('PUT', `/inspections/${inspection.uuid}`, {
    body: {
      task_id: inspection.task_id,
      project_id: inspection.project_id,
      started_at: inspection.started_at,
      location: inspection.location,
      note: inspection.note || '',
    },
  }).then(() => setInspection(inspection.uuid, () => ({ declared: true })));
}

async function declareFinding(finding) {
  const photos = await store.byIndex('photos', 'finding_uuid', finding.uuid);
  await json('PUT', `/inspections/${finding.inspection_uuid}/findings/${finding.uuid}`, {
    body: {
      violation_code: finding.violation_code,
      description: finding.description || '',
      observed_at: finding.observed_at,
      location: finding.location,
      photos: photos
        .sort((a, b) => a.added_at.localeCompare(b.added_at))
        .map((photo) => ({
          photo_uuid: photo.uuid,
          sha256: photo.sha256,
          size_bytes: photo.size,
          content_type: photo.type,
        })),
    },
  });
  await store.update('findings', finding.uuid, () => ({ declared: true }));
}

async function submit(inspection, findings) {
  try {
    await json('POST', `/inspections/${inspection.uuid}/submit`, {
      body: {
        finished_at: inspection.finished_at,
        finding_uuids: findings.map((finding) => finding.uuid),
      },
    });
  } catch (error) {
    if (error instanceof ApiError && error.code === 'findings_missing') {
      await redeclare(error.problem.missing_findings || []);
    }
    if (error instanceof ApiError && error.code === 'photos_missing') {
      await reopenPhotos(error.problem.missing_photos || []);
    }
    if (error instanceof ApiError && ['findings_missing', 'photos_missing'].includes(error.code)) {
      // The server lacks something the device still has: send it on the next pass.
      throw new ApiError(503, { code: error.code, detail: error.problem.detail });
    }
    throw error;
  }
  return setInspection(inspection.uuid, () => ({ submitted: true, status: 'submitted' }));
}

async function redeclare(findingUuids) {
  for (const uuid of findingUuids) await store.update('findings', uuid, () => ({ declared: false }));
}

async function reopenPhotos(photoUuids) {
  for (const uuid of photoUuids) {
    await store.update('photos', uuid, (photo) =>
      photo.blob ? { state: 'waiting', upload_url: null, sent: 0 } : {},
    );
  }
}

/** Mirror the server's view of each photo; forget a photo's bytes once it is processed. */
async function followServer(uuid) {
  const answer = await json('GET', `/inspections/${uuid}`);
  const slots = new Map();
  for (const finding of answer.findings) {
    await store.update('findings', finding.finding_uuid, () => ({
      review_status: finding.review_status,
    }));
    for (const slot of finding.photos) slots.set(slot.photo_uuid, slot);
  }
  let final = true;
  for (const photo of await store.byIndex('photos', 'inspection_uuid', uuid)) {
    const slot = slots.get(photo.uuid);
    if (!slot) continue;
    await store.update('photos', photo.uuid, () => photoFromSlot(photo, slot));
    if (!SERVER_FINAL.has(slot.state)) final = false;
  }
  await setInspection(uuid, () => ({
    status: final ? 'done' : 'submitted',
    server_status: answer.status,
  }));
}

function photoFromSlot(photo, slot) {
  if (slot.state === 'processed') return { state: 'accepted', blob: null, flags: slot.flags };
  if (slot.state === 'rejected') {
    return { state: 'refused', reason: { code: slot.rejection_reason }, flags: slot.flags };
  }
  if (slot.state === 'received') return { state: 'processing' };
  // The server reopened the slot (its copy was lost): upload again from the device's copy.
  return photo.blob ? { state: 'waiting', upload_url: null, sent: 0 } : {};
}

// --- tus upload of one photo ------------------------------------------------------------

function uploadPhoto(photo) {
  return new Promise((resolve, reject) => {
    let staleToken = null;
    let lastSave = 0;
    const upload = new Upload(photo.blob, {
      endpoint: TUS_ENDPOINT,
      uploadUrl: photo.upload_url || null,
      metadata: { photo_uuid: photo.uuid, filename: photo.name, content_type: photo.type },
      retryDelays: RETRY_DELAYS,
      chunkSize: CHUNK_BYTES,
      storeFingerprintForResuming: false, // the URL is kept with the photo in IndexedDB
      removeFingerprintOnSuccess: false,
      async onBeforeRequest(request) {
        request.setHeader('Authorization', `Bearer ${await accessToken({ stale: staleToken })}`);
      },
      onAfterResponse(request, response) {
        if (response.getStatus() === 401) {
          staleToken = request.getHeader('Authorization')?.slice('Bearer '.length) ?? null;
        }
      },
      onShouldRetry(error) {
        const status = error.originalResponse ? error.originalResponse.getStatus() : 0;
        if (!navigator.onLine) return false;
        return status === 0 || status === 401 || status === 409 || status === 423 || status >= 500;
      },
      async onUploadUrlAvailable() {
        await store.update('photos', photo.uuid, () => ({ upload_url: upload.url }));
      },
      onProgress(sent) {
        const now = Date.now();
        if (now - lastSave < PROGRESS_SAVE_MS) return;
        lastSave = now;
        store
          .update('photos', photo.uuid, () => ({ state: 'uploading', sent }))
          .then(() => notify('queue'));
      },
      async onSuccess() {
        await store.update('photos', photo.uuid, () => ({
          state: 'processing',
          sent: photo.size,
        }));
        notify('queue');
        resolve();
      },
      async onError(error) {
        try {
          await photoUploadFailed(photo, error);
        } finally {
          reject(asApiError(error));
        }
      },
    });
    store
      .update('photos', photo.uuid, () => ({ state: 'uploading' }))
      .then(() => notify('queue'))
      .then(() => upload.start(), reject);
  });
}

function asApiError(error) {
  if (error instanceof ApiError) return error;
  const response = error.originalResponse;
  if (!response) return new ApiError(0, { code: 'network' });
  let problem = {};
  try {
    problem = JSON.parse(response.getBody() || '{}');
  } catch {
    problem = {};
  }
  return new ApiError(response.getStatus(), problem);
}

async function photoUploadFailed(photo, error) {
  const failure = asApiError(error);
  if (failure.code === 'checksum_mismatch') {
    // The server ended that upload; start over once, then report it (the stored copy differs
    // from what was declared, which only a damaged device store can cause).
    const attempts = (photo.checksum_failures || 0) + 1;
    await store.update('photos', photo.uuid, () => ({
      checksum_failures: attempts,
      upload_url: null,
      sent: 0,
      state: attempts >= CHECKSUM_ATTEMPTS ? 'refused' : 'failed',
      reason: { code: failure.code },
    }));
  } else if (failure.transient || failure instanceof SignInNeeded) {
    await store.update('photos', photo.uuid, () => ({ state: 'failed' }));
  } else {
    // A refusal (413, 415, 404 for an undeclared slot): say why; a slot the server lost is
    // declared again with its finding on the next pass.
    if (failure.status === 404) {
      await store.update('findings', photo.finding_uuid, () => ({ declared: false }));
    }
    await store.update('photos', photo.uuid, () => ({
      state: failure.status === 404 ? 'failed' : 'refused',
      upload_url: null,
      reason: { code: failure.code, detail: failure.problem.detail || '' },
    }));
  }
  notify('queue');
}

// --- pull --------------------------------------------------------------------------------

async function pullAll() {
  await pullCatalogue();
  await pullTasks();
  await pullProjects();
  notify('data');
}

export async function pullCatalogue() {
  const cached = await store.kvGet('catalogue');
  const headers = cached?.etag ? { 'If-None-Match': cached.etag } : {};
  const response = await call('GET', '/catalogue', { headers });
  if (response.status === 304) return;
  if (!response.ok) throw new ApiError(response.status, {});
  const body = await response.json();
  await store.kvSet('catalogue', {
    ...body,
    etag: response.headers.get('ETag'),
    fetched_at: new Date().toISOString(),
  });
}

async function pullTasks() {
  let cursor = (await store.kvGet('cursor:tasks')) || null;
  for (;;) {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (cursor) query.set('cursor', cursor);
    let page;
    try {
      page = await json('GET', `/tasks?${query}`);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'invalid_cursor' && cursor) {
        cursor = null; // the server no longer knows our place: start over from the beginning
        continue;
      }
      throw error;
    }
    await store.putMany('tasks', page.items);
    cursor = page.next_cursor || cursor;
    await store.kvSet('cursor:tasks', cursor);
    if (!page.has_more) break;
  }
  await store.kvSet('tasks_synced_at', new Date().toISOString());
}

async function pullProjects({ force = false } = {}) {
  const last = await store.kvGet('projects_synced_at');
  if (!force && last && Date.now() - Date.parse(last) < PROJECTS_REFRESH_MS) return;
  const projects = [];
  let cursor = null;
  for (;;) {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (cursor) query.set('cursor', cursor);
    const page = await json('GET', `/projects?${query}`);
    projects.push(...page.items);
    cursor = page.next_cursor;
    if (!page.has_more || !cursor) break;
  }
  await store.replaceAll('projects', projects);
  await store.kvSet('projects_synced_at', new Date().toISOString());
}

export async function inspectionsAtProject(projectId) {
  return json('GET', `/inspections?project_id=${encodeURIComponent(projectId)}&limit=20`);
}
