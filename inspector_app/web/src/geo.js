// GPS with consent: the app explains why before the browser asks, remembers the answer, and
// reads the position once per inspection and per finding. A refusal or a timeout records no
// location (the server accepts `location: null`); it never blocks the inspection.

import { kvGet, kvSet } from './db.js';

const TIMEOUT_MS = 15_000;
const MAX_AGE_MS = 60_000;

export async function consent() {
  return kvGet('consent:geo');
}

export async function setConsent(value) {
  await kvSet('consent:geo', value);
}

/** `{lat, lon, accuracy_m}` or null. */
export function currentPosition() {
  if (!('geolocation' in navigator)) return Promise.resolve(null);
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (position) =>
        resolve({
          lat: Number(position.coords.latitude.toFixed(6)),
          lon: Number(position.coords.longitude.toFixed(6)),
          accuracy_m: Math.round(Math.min(position.coords.accuracy, 100000) * 10) / 10,
        }),
      () => resolve(null),
      { enableHighAccuracy: true, timeout: TIMEOUT_MS, maximumAge: MAX_AGE_MS },
    );
  });
}

/** The position when the inspector agreed to share it, else null without asking. */
export async function positionIfAllowed() {
  return (await consent()) === true ? currentPosition() : null;
}
