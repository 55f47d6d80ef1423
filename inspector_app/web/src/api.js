// The public mobile API (/api/mobile/v1, CONTRACTS.md) and nothing else: any other client
// could do exactly what this app does.
//
// Tokens: the access token is refreshed a minute before it expires or after a 401. Refresh
// tokens rotate and a reused one revokes the whole family, so two tabs must never refresh with
// the same token: the refresh runs under a Web Lock and re-reads the session inside it.

import { kvGet, kvSet } from './db.js';

export const BASE = '/api/mobile/v1';
// Refresh this long before expiry (a quarter of the lifetime for short-lived tokens).
const REFRESH_MARGIN_MS = 60_000;

export class ApiError extends Error {
  constructor(status, problem = {}) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || `http_${status}`;
    this.problem = problem;
  }

  /** Worth retrying later: the server or the link failed, not the request. */
  get transient() {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

export class SignInNeeded extends ApiError {
  constructor() {
    super(401, { code: 'sign_in_needed' });
  }
}

export function withLock(name, task) {
  if (navigator.locks) return navigator.locks.request(name, task);
  return task();
}

export async function session() {
  return kvGet('session');
}

export async function deviceId() {
  let id = await kvGet('device_id');
  if (!id) {
    id = `web-${crypto.randomUUID()}`;
    await kvSet('device_id', id);
  }
  return id;
}

async function send(method, path, { body, token, headers = {} } = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers } };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  try {
    return await fetch(BASE + path, init);
  } catch {
    throw new ApiError(0, { code: 'network' });
  }
}

async function problemOf(response) {
  try {
    return await response.json();
  } catch {
    return {};
  }
}

function tokensToSession(answer, extra) {
  return {
    ...extra,
    access_token: answer.access_token,
    refresh_token: answer.refresh_token,
    expires_at: Date.now() + answer.expires_in * 1000,
    lifetime_ms: answer.expires_in * 1000,
    inspector: answer.inspector ?? extra.inspector,
    needs_sign_in: false,
  };
}

export async function signIn(username, password) {
  const response = await send('POST', '/auth/token', {
    body: { username, password, device_id: await deviceId() },
  });
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  const answer = await response.json();
  const signedIn = tokensToSession(answer, { username });
  await kvSet('session', signedIn);
  return signedIn;
}

function isFresh(current) {
  const margin = Math.min(REFRESH_MARGIN_MS, (current.lifetime_ms || REFRESH_MARGIN_MS * 4) / 4);
  return current.expires_at - Date.now() > margin;
}

export async function accessToken({ stale } = {}) {
  const current = await session();
  if (!current || current.needs_sign_in) throw new SignInNeeded();
  const fresh = isFresh(current);
  if (fresh && current.access_token !== stale) return current.access_token;
  return refresh(current.access_token);
}

function refresh(staleToken) {
  return withLock('wuye-auth', async () => {
    const current = await session();
    if (!current || current.needs_sign_in) throw new SignInNeeded();
    if (current.access_token !== staleToken && isFresh(current)) {
      return current.access_token; // another tab refreshed while this one waited
    }
    const response = await send('POST', '/auth/refresh', {
      body: { refresh_token: current.refresh_token },
    });
    if (response.status === 401) {
      // The refresh token expired or was revoked: ask for the password again, keep the data.
      await kvSet('session', { ...current, needs_sign_in: true });
      throw new SignInNeeded();
    }
    if (!response.ok) throw new ApiError(response.status, await problemOf(response));
    const renewed = tokensToSession(await response.json(), current);
    await kvSet('session', renewed);
    return renewed.access_token;
  });
}

/** An authenticated call; one retry with a refreshed token after a 401. Returns the Response. */
export async function call(method, path, options = {}) {
  let token = await accessToken();
  let response = await send(method, path, { ...options, token });
  if (response.status === 401) {
    token = await accessToken({ stale: token });
    response = await send(method, path, { ...options, token });
  }
  return response;
}

/** `call` for JSON answers: the parsed body, or an ApiError carrying the problem. */
export async function json(method, path, options = {}) {
  const response = await call(method, path, options);
  if (response.status === 204) return null;
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  return response.json();
}

export async function signOutOnServer() {
  const current = await session();
  if (!current || current.needs_sign_in) return;
  try {
    await call('POST', '/auth/logout');
  } catch {
    // Offline: the tokens expire on their own; the device is wiped either way.
  }
}
