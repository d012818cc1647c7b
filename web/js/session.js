// Signing out: end the session on the hub, drop cached data in the service worker, show the sign-in page.

import { api } from "./api.js";

export async function signOut() {
  try {
    await api("/api/v1/session", { method: "DELETE" });
  } finally {
    navigator.serviceWorker?.controller?.postMessage({ type: "signed-out" });
    window.dispatchEvent(new CustomEvent("hub:signed-out"));
  }
}
