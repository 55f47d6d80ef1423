// The service worker: the app shell (HTML, script, style, icons, manifest) is precached, so
// the app opens with no network; navigations inside /m/ get the shell; the violation
// catalogue is served network-first with the last good copy as the offline fallback.
// The API itself is never cached here: queued work lives in IndexedDB, and an update of this
// worker (a new precache) cannot touch it.

import { clientsClaim } from 'workbox-core';
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { NetworkFirst } from 'workbox-strategies';

const SHELL_URL = '/m/';
const CATALOGUE_PATH = '/api/mobile/v1/catalogue';

// Filled in by build.mjs with the built files and their revisions.
precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();
// The first install takes over the page that registered it, so the app works offline from
// its first visit. Later versions still wait for the inspector (see SKIP_WAITING below).
clientsClaim();

registerRoute(
  new NavigationRoute(createHandlerBoundToURL(SHELL_URL), {
    allowlist: [/^\/m\/?$/, /^\/m\/(?!assets\/|sw\.js|manifest\.webmanifest)/],
  }),
);

registerRoute(
  ({ url, request }) =>
    request.method === 'GET' && url.origin === self.location.origin && url.pathname === CATALOGUE_PATH,
  new NetworkFirst({ cacheName: 'wuye-catalogue', networkTimeoutSeconds: 8 }),
);

self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'SKIP_WAITING') self.skipWaiting();
});
