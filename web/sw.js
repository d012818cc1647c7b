// The service worker: the app shell offline, the last loaded feed offline, push notifications and their actions.

const SHELL_CACHE = "hub-shell-v6"; // v6: drops a shell v5 may have stored from a page that was not the app
const DATA_CACHE = "hub-data-v1";
const SHELL = [
  "/",
  "/styles.css",
  "/manifest.webmanifest",
  "/icons/icon.svg",
  "/icons/icon-192.png",
  "/js/actions.js",
  "/js/admin.js",
  "/js/api.js",
  "/js/app.js",
  "/js/card.js",
  "/js/copy.js",
  "/js/dom.js",
  "/js/event-page.js",
  "/js/feed.js",
  "/js/heartbeats.js",
  "/js/icons.js",
  "/js/json.js",
  "/js/login.js",
  "/js/markdown.js",
  "/js/projects.js",
  "/js/push.js",
  "/js/router.js",
  "/js/schedule.js",
  "/js/selfservice.js",
  "/js/session.js",
  "/js/settings.js",
  "/js/state.js",
  "/js/time.js",
];
// Reads worth keeping for offline use; the stream and every write always go to the network.
const CACHED_READS = /^\/api\/v1\/(session|projects|events)(\/|$|\?)/;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n !== SHELL_CACHE && n !== DATA_CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

function isHtml(response) {
  return (response.headers.get("content-type") || "").startsWith("text/html");
}

/** A cached answer says so (`X-Hub-Offline: 1`), so the page can tell it from a fresh one. */
function markedOffline(response) {
  const headers = new Headers(response.headers);
  headers.set("X-Hub-Offline", "1");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/** Network first (always fresh when online), the cached copy when the network fails; `keep` says whether an
 * answer may be stored. */
async function networkFirst(request, cacheName, fallbackUrl, keep = () => true) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    if (response.ok && keep(response)) cache.put(fallbackUrl || request, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(fallbackUrl || request);
    if (cached) return markedOffline(cached);
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // Every page offline is the shell, but only the shell is stored as it: any page opened in the browser was,
    // so an API answer opened by hand (the session, with its CSRF token) took its place and outlived sign-out.
    event.respondWith(networkFirst(request, SHELL_CACHE, "/", (response) => url.pathname === "/" && isHtml(response)));
  } else if (CACHED_READS.test(url.pathname + url.search)) {
    event.respondWith(networkFirst(request, DATA_CACHE));
  } else if (!url.pathname.startsWith("/api/")) {
    event.respondWith(networkFirst(request, SHELL_CACHE));
  }
});

self.addEventListener("message", (event) => {
  // A session ended (signed out, expired, ended elsewhere): its events must not stay readable on this device.
  if (event.data?.type === "signed-out") event.waitUntil(forgetSession());
});

/** The cached events go, and so do the notifications on screen: they show events' titles and descriptions, and
 * their buttons would refuse to run for whoever signs in next. */
async function forgetSession() {
  await caches.delete(DATA_CACHE);
  for (const notification of await self.registration.getNotifications()) notification.close();
}

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { title: "hub", body: event.data?.text() };
  }
  const actions = (data.actions || []).slice(0, 2).map((a) => ({ action: a.action, title: a.title }));
  event.waitUntil(
    self.registration.showNotification(data.title || "hub", {
      body: data.body || "",
      icon: data.icon && data.icon.startsWith("/") ? data.icon : "/icons/icon-192.png",
      badge: "/icons/icon-192.png",
      tag: data.tag || undefined,
      data: {
        url: data.url || (data.event_id ? `/events/${data.event_id}` : "/"),
        event_id: data.event_id,
        user_id: data.user_id,
        actions: data.actions || [],
      },
      actions,
    }),
  );
});

/** The session signed in on this device: its user and CSRF token. */
async function signedInSession() {
  const response = await fetch("/api/v1/session", { credentials: "same-origin" });
  if (!response.ok) throw new Error("signed out");
  return response.json();
}

/** A notification button runs the action through the hub, as the signed-in user, and reports the outcome; only
 * when that user is the one the notification was sent to (`data.user_id`): on a browser that changed hands, it
 * would run as someone else. */
async function runAction(data, key) {
  const eventId = data.event_id;
  let title = "Action done";
  let body = "";
  try {
    const session = await signedInSession();
    if (session.user.id !== data.user_id) {
      return showOutcome(eventId, key, "Action not run", "This notification is for another account than the one signed in to hub here.");
    }
    const response = await fetch(`/api/v1/events/${encodeURIComponent(eventId)}/actions/${encodeURIComponent(key)}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": session.csrf_token },
      body: "{}",
    });
    const result = await response.json().catch(() => ({}));
    // An action that needs inputs (or anything else the hub calls a bad request) is finished in the app.
    if (response.status === 400) return openUrl(`/events/${encodeURIComponent(eventId)}`);
    if (response.status === 410) title = "Action expired";
    else if (response.status === 403) title = "Action not allowed";
    else if (!response.ok || result.status === "failed") title = "Action failed";
    body = result.message || "";
  } catch (error) {
    title = "Action not run";
    body = "Open hub and sign in to run it.";
  }
  await showOutcome(eventId, key, title, body);
}

function showOutcome(eventId, key, title, body) {
  return self.registration.showNotification(title, { body, icon: "/icons/icon-192.png", tag: `action-${eventId}-${key}` });
}

async function openUrl(url) {
  const target = new URL(url, self.location.origin).href;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of windows) {
    if (new URL(client.url).origin === self.location.origin && "focus" in client) {
      await client.navigate(target);
      return client.focus();
    }
  }
  return self.clients.openWindow(target);
}

self.addEventListener("notificationclick", (event) => {
  const data = event.notification.data || {};
  event.notification.close();
  // The hub sends `url` only for link buttons; the others run through the hub.
  const action = (data.actions || []).find((a) => a.action === event.action);
  if (action?.url) {
    event.waitUntil(self.clients.openWindow(action.url));
  } else if (action && data.event_id) {
    event.waitUntil(runAction(data, event.action));
  } else {
    event.waitUntil(openUrl(data.url || "/"));
  }
});

self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil((async () => {
    const keyResponse = await fetch("/api/v1/push/vapid-public-key", { credentials: "same-origin" });
    const { public_key: key } = await keyResponse.json();
    const padded = key.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (key.length % 4)) % 4);
    const applicationServerKey = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    // Some browsers hand over the replacement; otherwise subscribe again with the hub's key.
    const subscription =
      event.newSubscription || (await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey }));
    await fetch("/api/v1/push/subscriptions", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": (await signedInSession()).csrf_token },
      body: JSON.stringify({ ...subscription.toJSON(), user_agent: "Re-registered browser" }),
    });
  })());
});
