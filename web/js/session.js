// Signing out: end the session on the hub (which removes this browser's push device), unsubscribe the browser, drop
// cached data in the service worker, show the sign-in page.

import { api } from "./api.js";
import { forgetSubscription } from "./push.js";

export async function signOut() {
  try {
    await api("/api/v1/session", { method: "DELETE" });
  } finally {
    await forgetSubscription().catch(() => {}); // a browser without push, or one that refuses: nothing to drop
    navigator.serviceWorker?.controller?.postMessage({ type: "signed-out" });
    window.dispatchEvent(new CustomEvent("hub:signed-out"));
  }
}
