// Talking to the hub: same-origin fetch with the session cookie, the CSRF token on every change, JSON errors.

let csrfToken = null;
// Answers the service worker gave from its cache because the hub could not be reached.
const cachedAnswers = new WeakSet();

/** Whether `data` (an answer of api()) is the service worker's cached copy rather than the hub's answer. */
export function isCachedCopy(data) {
  return data !== null && typeof data === "object" && cachedAnswers.has(data);
}

export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

export function setCsrf(token) {
  csrfToken = token;
}

export async function api(path, { method = "GET", body, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "The hub cannot be reached. Check your connection.");
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401 && !path.startsWith("/api/v1/session")) {
      window.dispatchEvent(new CustomEvent("hub:signed-out", { detail: { expired: true } }));
    }
    throw new ApiError(response.status, data?.message || response.statusText || "Request failed", data?.field);
  }
  if (response.headers.get("X-Hub-Offline") && data !== null && typeof data === "object") cachedAnswers.add(data);
  return data;
}

/** Query string from an object, skipping empty values and repeating arrays (`tag=a:1&tag=b:2`). */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "" || value === false) continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(key, String(item));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
