// Ending a session: signing out ends it on the hub (which removes this browser's push device) and unsubscribes the
// browser; however it ended, the data cached for offline use goes.

import { api } from "./api.js";
import { forgetSubscription } from "./push.js";

/** Signing out; `hub:signed-out` then shows the sign-in page, which forgets the cached data. */
export async function signOut() {
  try {
    await api("/api/v1/session", { method: "DELETE" });
  } finally {
    await forgetSubscription().catch(() => {}); // a browser without push, or one that refuses: nothing to drop
    window.dispatchEvent(new CustomEvent("hub:signed-out"));
  }
}

/** Ask the service worker to delete the events and session it cached: offline, the app would otherwise start as
 * the person whose session ended, with their feed. The active worker, not the page's controller: a page loaded
 * past the worker (a hard reload) has none, and the cache is there all the same. */
export async function forgetCachedData() {
  const registration = await navigator.serviceWorker?.getRegistration();
  registration?.active?.postMessage({ type: "signed-out" });
}
