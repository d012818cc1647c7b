// The projects the signed-in person sees, with their event counts, for the sidebar and the feed's picker:
// loaded at sign-in, then again on navigation and as events arrive, at most every few seconds.

import { api } from "./api.js";
import { state } from "./state.js";

const EVERY_MS = 5000;
let last = 0;
let timer = null;

/** Load them now; a change is announced with a `hub:projects` event on window. */
export async function loadProjects() {
  last = Date.now();
  let projects;
  try {
    projects = await api("/api/v1/projects");
  } catch {
    return; // offline or signed out: keep what is shown
  }
  if (JSON.stringify(projects) === JSON.stringify(state.projects)) return;
  state.projects = projects;
  window.dispatchEvent(new CustomEvent("hub:projects"));
}

/** Load them again: now, or once the last load is a few seconds old; calls meanwhile add nothing. */
export function refreshProjects() {
  if (timer) return;
  timer = setTimeout(() => {
    timer = null;
    if (state.user) loadProjects();
  }, Math.max(0, last + EVERY_MS - Date.now()));
}
