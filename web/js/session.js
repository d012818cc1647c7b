// Ending a session: signing out ends it on the hub (which removes this browser's push device) and unsubscribes the
// browser; however it ended, the data cached for offline use goes.

import { api } from "./api.js";
import { toast } from "./dom.js";
import { forgetSubscription } from "./push.js";

/** Signing out; `hub:signed-out` then shows the sign-in page, which forgets the cached data. A session the hub did
 * not end (it could not be reached) is not shown as ended: the sign-in page would hide a session still open, for
 * whoever uses this browser next, once the hub is back. */
export async function signOut() {
  try {
    await api("/api/v1/session", { method: "DELETE" });
  } catch (error) {
    if (error.status !== 401) { // 401: it had ended already
      toast(`Not signed out: ${error.message}`, "error");
      return;
    }
  }
  await forgetSubscription().catch(() => {}); // a browser without push, or one that refuses: nothing to drop
  window.dispatchEvent(new CustomEvent("hub:signed-out"));
}

/** Ask the service worker to delete the events and session it cached: offline, the app would otherwise start as
 * the person whose session ended, with their feed. The active worker, not the page's controller: a page loaded
 * past the worker (a hard reload) has none, and the cache is there all the same. */
export async function forgetCachedData() {
  const registration = await navigator.serviceWorker?.getRegistration();
  registration?.active?.postMessage({ type: "signed-out" });
}
