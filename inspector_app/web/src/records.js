// What the inspector records on the device, before any network: inspections (open until
// finished, then queued for sync and immutable, as on the server) and their findings.

import * as store from './db.js';
import { positionIfAllowed } from './geo.js';

export async function startInspection({ project, taskId = null }) {
  const inspection = {
    uuid: crypto.randomUUID(),
    task_id: taskId,
    project_id: project.id,
    project_name: project.name,
    project_address: project.address || '',
    started_at: new Date().toISOString(),
    location: await positionIfAllowed(),
    note: '',
    status: 'open',
    declared: false,
    submitted: false,
    created_at: new Date().toISOString(),
  };
  await store.put('inspections', inspection);
  return inspection;
}

export function openInspectionFor({ projectId, taskId = null }, inspections) {
  return inspections.find(
    (inspection) =>
      inspection.status === 'open' &&
      inspection.project_id === projectId &&
      (taskId === null || inspection.task_id === taskId),
  );
}

export async function newFinding(inspectionUuid) {
  return {
    uuid: crypto.randomUUID(),
    inspection_uuid: inspectionUuid,
    violation_code: '',
    description: '',
    observed_at: new Date().toISOString(),
    location: await positionIfAllowed(),
    declared: false,
    review_status: null,
  };
}

export async function findingsOf(inspectionUuid) {
  const findings = await store.byIndex('findings', 'inspection_uuid', inspectionUuid);
  return findings.sort((a, b) => a.observed_at.localeCompare(b.observed_at));
}

export async function photosOf(findingUuid) {
  const photos = await store.byIndex('photos', 'finding_uuid', findingUuid);
  return photos.sort((a, b) => a.added_at.localeCompare(b.added_at));
}

/** Finish: the inspection joins the sync queue. Nothing about it may change afterwards. */
export async function finishInspection(uuid) {
  return store.update('inspections', uuid, (inspection) =>
    inspection.status === 'open'
      ? { status: 'waiting', finished_at: new Date().toISOString() }
      : {},
  );
}

export async function deleteFinding(uuid) {
  const photos = await store.byIndex('photos', 'finding_uuid', uuid);
  const tx = (await store.db()).transaction(['findings', 'photos'], 'readwrite');
  await Promise.all([
    tx.objectStore('findings').delete(uuid),
    ...photos.map((photo) => tx.objectStore('photos').delete(photo.uuid)),
  ]);
  await tx.done;
}

export function groupedCatalogue(catalogue) {
  const order = ['serious', 'ordinary', 'minor'];
  const groups = new Map(order.map((severity) => [severity, []]));
  for (const item of catalogue?.items || []) {
    if (!groups.has(item.severity)) groups.set(item.severity, []);
    groups.get(item.severity).push(item);
  }
  return [...groups.entries()].filter(([, items]) => items.length > 0);
}

/** Before an inspection is finished: empty drafts (no violation, no photo) are dropped, and
 * each remaining finding must name a violation of the catalogue and carry its minimum of
 * photos, since the server refuses the whole finding otherwise. Returns what is wrong. */
export async function findingsReadyToSend(inspectionUuid, catalogue) {
  const rules = new Map((catalogue?.items || []).map((item) => [item.code, item]));
  const problems = [];
  for (const finding of await dropEmptyDrafts(inspectionUuid)) {
    const photos = await photosOf(finding.uuid);
    const rule = rules.get(finding.violation_code);
    if (!rule) problems.push({ finding, key: 'need_violation' });
    else if (photos.length < rule.min_photos) {
      problems.push({ finding, key: 'need_photos', vars: { count: rule.min_photos, have: photos.length } });
    }
  }
  return problems;
}

/** A finding opened and left without a violation or a photo is not a finding: drop it.
 * Returns the findings that remain. */
export async function dropEmptyDrafts(inspectionUuid) {
  const kept = [];
  for (const finding of await findingsOf(inspectionUuid)) {
    if (!finding.violation_code && (await photosOf(finding.uuid)).length === 0) {
      await deleteFinding(finding.uuid);
    } else kept.push(finding);
  }
  return kept;
}
