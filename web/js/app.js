// The app: who is signed in, the navigation, the pages, and the service worker.

import { api, ApiError, setCsrf } from "./api.js";
import { fill, h, icon, toast } from "./dom.js";
import { eventPage } from "./event-page.js";
import { feedPage } from "./feed.js";
import { heartbeatsPage } from "./heartbeats.js";
import { loginPage } from "./login.js";
import { adminPage } from "./admin.js";
import { loadProjects, refreshProjects } from "./projects.js";
import { renewIfKeyChanged, resumeNotifications } from "./push.js";
import { leavePage, navigate, onRender, render, route, setTitle, startRouter } from "./router.js";
import { selfServicePage } from "./selfservice.js";
import { forgetCachedData } from "./session.js";
import { settingsPage } from "./settings.js";
import { isAdmin, state } from "./state.js";

const SECTIONS = [
  { path: "/", label: "Feed", icon: "feed" },
  { path: "/heartbeats", label: "Heartbeats", icon: "heart" },
  { path: "/actions", label: "Actions", icon: "bolt" },
  { path: "/admin", label: "Admin", icon: "shield", admin: true },
  { path: "/settings", label: "Settings", icon: "gear" },
];

function drawNav(pathname) {
  const current = (path) => (path === "/" ? pathname === "/" || pathname.startsWith("/events/") : pathname.startsWith(path));
  const links = SECTIONS.filter((s) => !s.admin || isAdmin()).map((s) =>
    h("a.nav-link", { href: s.path, "aria-current": current(s.path) ? "page" : null }, icon(s.icon, 18), h("span", {}, s.label)));
  fill(document.getElementById("nav"), links);
  fill(document.getElementById("tabbar"), links.map((link) => link.cloneNode(true)));
  drawProjects(pathname);
  fill(
    document.getElementById("sidebar-user"),
    h("div.user", {}, h("span.avatar", { "aria-hidden": "true" }, (state.user.name || state.user.email).slice(0, 1).toUpperCase()),
      h("div.user-text", {}, h("div.user-name", {}, state.user.name || state.user.email), h("div.muted.small", {}, state.user.role))));
  refreshProjects(); // new projects and counts since the last look
}

function drawProjects(pathname) {
  const project = pathname === "/" ? new URLSearchParams(location.search).get("project") : null;
  fill(
    document.getElementById("sidebar-projects"),
    h("div.sidebar-title", {}, "Projects"),
    state.projects.length
      ? state.projects.map((p) => h("a.side-link", { href: `/?project=${encodeURIComponent(p.slug)}`, title: p.slug, "aria-current": p.slug === project ? "page" : null },
          h("span", {}, p.slug), h("span.count", {}, p.event_count.toLocaleString())))
      : h("p.muted.small", {}, "No projects yet."));
}

async function loadSession() {
  try {
    return await api("/api/v1/session");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

let routerStarted = false;

async function signedIn(session) {
  state.user = session.user;
  setCsrf(session.csrf_token);
  document.body.classList.remove("signed-out");
  state.projects = [];
  await loadProjects();
  if (location.pathname === "/login") {
    const next = new URLSearchParams(location.search).get("next");
    history.replaceState(null, "", next && next.startsWith("/") && !next.startsWith("//") ? next : "/");
  }
  if (routerStarted) render();
  else {
    routerStarted = true;
    startRouter();
  }
}

/** Signed in with the form: the page, then this browser's notifications for the person (see push.js). */
async function signedInWithPassword(session) {
  await signedIn(session);
  resumeNotifications(session.user).catch((error) => toast(`Notifications on this device: ${error.message}`, "error"));
}

/** The sign-in page; after a 401 from the hub (`expired`) it says why the page the person was on went away. Nobody
 * is signed in, however the session ended (signed out, expired, ended elsewhere): nothing of theirs stays cached. */
function showLogin(event) {
  leavePage();
  // A second refusal of a request the page had made before it stopped: the form shown keeps what is typed in it.
  if (!state.user && document.getElementById("email")) return;
  state.user = null;
  setCsrf(null);
  forgetCachedData().catch(() => {});
  if (location.pathname !== "/login") {
    history.replaceState(null, "", `/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  }
  setTitle("Sign in");
  loginPage(signedInWithPassword, { expired: !!event?.detail?.expired });
}

async function boot() {
  route("/", feedPage, "Feed");
  route("/events/:id", eventPage, "Event");
  route("/heartbeats", heartbeatsPage, "Heartbeats");
  route("/actions", selfServicePage, "Actions");
  route("/admin", adminPage, "Admin");
  route("/settings", settingsPage, "Settings");
  route("/login", () => navigate("/", { replace: true }));
  onRender(drawNav);
  window.addEventListener("hub:projects", () => state.user && drawProjects(location.pathname));
  window.addEventListener("hub:signed-out", showLogin);
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
  let session;
  try {
    session = await loadSession();
  } catch (error) {
    // Nothing saved on this device to start from (the service worker answers this offline once signed in).
    document.body.classList.add("signed-out");
    setTitle("Cannot reach the hub");
    fill(document.getElementById("main"), h("div.empty", {},
      h("h1.empty-title", {}, "The hub cannot be reached"),
      h("p.muted", {}, error.status ? error.message : "Check your connection, or whether the hub is running."),
      h("button.btn.btn-primary.btn-sm", { type: "button", onclick: () => location.reload() }, "Try again")));
    return;
  }
  if (!session) {
    showLogin();
    return;
  }
  await signedIn(session);
  renewIfKeyChanged(session.user).catch(() => {}); // no push here, or the hub has none: nothing to renew
}

boot();
