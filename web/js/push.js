// Web push: subscribe this device with the hub's VAPID key and register it for the signed-in user. The hub removes
// a device when the session that registered it ends; the browser's subscription follows the person, not the session.

import { api } from "./api.js";
import { state } from "./state.js";

export const PUSH = {
  key: "/api/v1/push/vapid-public-key",
  subscriptions: "/api/v1/push/subscriptions",
};
// The id of the user this browser's subscription was registered for: only their next sign-in registers it again.
const OWNER_KEY = "hub-push-owner";

export function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

export function base64UrlToBytes(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

/** This browser's push subscription, or null; without waiting for a service worker that may never come. */
async function browserSubscription() {
  if (!pushSupported()) return null;
  const registration = await navigator.serviceWorker.getRegistration();
  return registration ? registration.pushManager.getSubscription() : null;
}

async function register(subscription, userId) {
  const device = await api(PUSH.subscriptions, { method: "POST", body: { ...subscription.toJSON(), user_agent: deviceName() } });
  localStorage.setItem(OWNER_KEY, userId);
  return device;
}

/** Ask permission, subscribe with the hub's key, and register the subscription; returns the hub's record. */
export async function turnOnNotifications() {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") throw new Error("Notifications are blocked for this site in the browser's settings.");
  const { public_key: publicKey } = await api(PUSH.key);
  const registration = await navigator.serviceWorker.ready;
  const subscription =
    (await registration.pushManager.getSubscription()) ||
    (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(publicKey) }));
  return register(subscription, state.user.id);
}

/** Signing out (the hub removed this browser's device with the session), or removing this browser's device: the
 * browser drops its subscription too, so nothing more arrives here for the person who is leaving. */
export async function forgetSubscription() {
  localStorage.removeItem(OWNER_KEY);
  await (await browserSubscription())?.unsubscribe();
}

/** A device removed in Settings: when it is this browser, its subscription goes too (a sign-in must not bring it back). */
export async function deviceRemoved(endpoint) {
  if ((await browserSubscription())?.endpoint === endpoint) await forgetSubscription();
}

/** After a sign-in. The person whose session here ended without signing out (it expired, their password changed
 * elsewhere, an admin reset it) took their device along; their notifications come back without a word. Anyone
 * else's sign-in drops the subscription: nobody inherits another person's device. */
export async function resumeNotifications(user) {
  const subscription = await browserSubscription();
  if (!subscription || Notification.permission !== "granted") return;
  if (await wasTheirs(subscription, user)) await register(subscription, user.id);
  else await forgetSubscription();
}

/** At each start: a subscription of this person's made with a key the hub no longer has (a new VAPID key, after a
 * lost key file, say) is refused by every push service (403), so nothing reached this device. It is made again with
 * the hub's key and registered in the old one's place. */
export async function renewIfKeyChanged(user) {
  const subscription = await browserSubscription();
  const made = subscription?.options?.applicationServerKey;
  if (!made || Notification.permission !== "granted" || localStorage.getItem(OWNER_KEY) !== user.id) return;
  const { public_key: publicKey } = await api(PUSH.key);
  const key = base64UrlToBytes(publicKey);
  const old = new Uint8Array(made);
  if (old.length === key.length && old.every((byte, i) => byte === key[i])) return;
  const stale = (await api(PUSH.subscriptions)).find((device) => device.endpoint === subscription.endpoint);
  if (stale) await api(`${PUSH.subscriptions}/${encodeURIComponent(stale.id)}`, { method: "DELETE" });
  await subscription.unsubscribe();
  const registration = await navigator.serviceWorker.ready;
  await register(await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }), user.id);
}

/** Whether the subscription was registered for `user`: as this browser recorded it, or, turned on before the app
 * kept that record, as the hub still lists it among their devices. */
async function wasTheirs(subscription, user) {
  const owner = localStorage.getItem(OWNER_KEY);
  if (owner) return owner === user.id;
  const devices = await api(PUSH.subscriptions);
  return devices.some((device) => device.endpoint === subscription.endpoint);
}

function deviceName() {
  const ua = navigator.userAgent;
  const os = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Mac/.test(ua) ? "macOS" : /Windows/.test(ua) ? "Windows" : /Linux/.test(ua) ? "Linux" : "Device";
  const browser = /Edg\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox" : /Chrome\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "Browser";
  return `${browser} on ${os}`;
}
