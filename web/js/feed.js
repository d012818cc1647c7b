// The feed: filters and search in the URL, cursor pages on scroll, live events over SSE with a "N new" pill.

import { api, isCachedCopy, query } from "./api.js";
import { eventCard, newerTimeline, tellFollowUp } from "./card.js";
import { fill, h, icon } from "./dom.js";
import { refreshProjects } from "./projects.js";
import { navigate, render, setTitle } from "./router.js";
import { isAdmin, state } from "./state.js";

const PAGE = 30;
const RESTART_AFTER = 30_000; // ms: a stream refused, then accepted when asked again, restarts the feed at most this often
let restartedAt = 0;
const REACH = 600; // px below the screen where the next page starts loading
// A tab hidden this long gives its stream's connection back (ms): over HTTP/1.1 a browser opens 6 to a host, and
// six open feeds left none for the rest of the app. Shown again, it carries on from the newest event it has.
const HIDDEN_CLOSE_AFTER = 10_000;
const FILTER_KEYS = ["project", "channel", "tag", "severity", "user_id", "q", "test"];
// The live indicator: a word as well as a colour.
const LIVE_WORDS = {
  connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", offline: "Offline", refused: "Not live",
  crowded: "Not live",
};
const LIVE_TITLES = {
  connecting: "Connecting to the hub",
  live: "New events appear as they arrive",
  reconnecting: "The connection to the hub dropped; trying again",
  offline: "The hub cannot be reached; new events appear once it can",
  refused: "The hub refused this filter, so no new events appear",
  crowded: "Too many live views of the hub are open for you: close one, and this one goes live within 30 seconds",
};
const SEVERITY_CHOICES = [
  ["", "All"],
  ["warning,critical", "Warnings"],
  ["critical", "Critical"],
];

export function readFilters(search = location.search) {
  const params = new URLSearchParams(search);
  return {
    project: params.get("project") || "",
    channel: params.get("channel") || "",
    tag: params.getAll("tag"),
    severity: params.get("severity") || "",
    user_id: params.get("user_id") || "",
    q: params.get("q") || "",
    test: params.get("test") === "true",
  };
}

function filtersUrl(filters) {
  return `/${query(Object.fromEntries(FILTER_KEYS.map((k) => [k, filters[k]])))}`;
}

function insightTiles(insights) {
  if (!insights.length) return null;
  return h("section.tiles", { "aria-label": "Insights" }, insights.map((insight) =>
    h("div.tile", {},
      h("div.tile-title", {}, insight.icon ? h("span.tile-icon", { "aria-hidden": "true" }, insight.icon) : null, insight.title),
      h("div.tile-value", {}, typeof insight.value === "number" ? insight.value.toLocaleString() : String(insight.value)))));
}

function activeChips(filters, change) {
  const chips = [];
  const chip = (label, patch) =>
    chips.push(h("button.chip.chip-active", { type: "button", title: `Remove filter ${label}`, onclick: () => change(patch) }, h("span.chip-label", {}, label), icon("x", 12)));
  if (filters.channel) chip(`#${filters.channel}`, { channel: "" });
  if (filters.user_id) chip(`user: ${filters.user_id}`, { user_id: "" });
  for (const tag of filters.tag) chip(tag, { tag: filters.tag.filter((t) => t !== tag) });
  return chips.length ? h("div.active-filters", {}, chips) : null;
}

function toolbar(filters, change) {
  const search = h("input.search-input", {
    type: "search", placeholder: "Search events", value: filters.q, "aria-label": "Search events", autocomplete: "off",
    dataset: { focusKey: "search" },
  });
  let timer;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    // As typed: the page is drawn again from the address, and a trimmed "Refund " ran on into "Refundrequested".
    timer = setTimeout(() => change({ q: search.value }, { replace: true, keepFocus: true }), 300);
  });
  // The arrow keys change a closed <select> at each press: focus stays on it, so they walk the whole list.
  const projectSelect = h("select.select", {
    "aria-label": "Project", dataset: { focusKey: "project" },
    onchange: (e) => change({ project: e.target.value, channel: "" }, { keepFocus: true }),
  }, projectOptions(filters));
  // The list grows when events of a new project arrive (see projects.js).
  const onProjects = () => fill(projectSelect, projectOptions(filters));
  const severity = h("div.segmented", { role: "group", "aria-label": "Severity" }, SEVERITY_CHOICES.map(([value, label]) =>
    h("button", { type: "button", "aria-pressed": String(filters.severity === value), onclick: () => change({ severity: value }) }, label)));
  const test = h("label.switch", {},
    h("input", { type: "checkbox", checked: filters.test, onchange: (e) => change({ test: e.target.checked }) }),
    h("span.switch-track", { "aria-hidden": "true" }), "Test mode");
  const bar = h("div.toolbar", {},
    h("div.search", {}, icon("search", 16), search),
    h("div.toolbar-row", {}, projectSelect, severity, test));
  return { bar, onProjects };
}

function projectOptions(filters) {
  return [
    h("option", { value: "" }, "All projects"),
    state.projects.map((p) => h("option", { value: p.slug, selected: p.slug === filters.project }, p.slug)),
    // A project with no events yet (a link from elsewhere) still shows as the chosen one.
    filters.project && !state.projects.some((p) => p.slug === filters.project)
      ? h("option", { value: filters.project, selected: true }, filters.project)
      : null,
  ];
}

export function feedPage(main) {
  const filters = readFilters();
  const asked = { ...filters, q: filters.q.trim() || undefined }; // what the hub is asked: spaces alone are no search
  const controller = new AbortController();
  const list = h("div.feed", { "aria-live": "off" });
  const sentinel = h("div.sentinel", { "aria-hidden": "true" });
  const status = h("div.feed-status");
  const pill = h("button.pill", { type: "button", hidden: true }, icon("up", 14), h("span"));
  const tilesSlot = h("div");
  const channelsSlot = h("div");
  const offline = h("div.banner", { role: "status", hidden: true });
  const seen = new Set();
  let cursor = null;
  let loading = false;
  let pending = [];
  let ready = false; // set once the tiles and channels above the cards are in place
  let stale = false; // what is shown came from the device's cache, or did not load: reload once the hub is back

  function showOffline() {
    stale = true;
    offline.hidden = false;
    offline.textContent = seen.size
      ? "Offline: the hub cannot be reached. Showing the events last loaded on this device."
      : "Offline: the hub cannot be reached, and nothing is saved on this device for this view.";
  }

  const change = (patch, { replace = false, keepFocus = false } = {}) => {
    const next = { ...filters, ...patch };
    navigate(filtersUrl(next), { replace, keepFocus });
  };
  const onFilter = (patch) => change(patch.tag ? { ...patch, tag: [...new Set([...filters.tag, patch.tag])] } : patch);

  const card = (event) => eventCard(event, { onFilter });

  // The observer fires only when the sentinel enters its margin: on a tall screen it never leaves it.
  const sentinelInReach = () => sentinel.getBoundingClientRect().top < window.innerHeight + REACH;

  async function loadMore() {
    if (!ready || loading || cursor === undefined) return;
    loading = true;
    let loaded = false;
    fill(status, h("span.spinner", { "aria-hidden": "true" }), "Loading…");
    try {
      const page = await api(`/api/v1/events${query({ ...asked, limit: PAGE, cursor })}`, { signal: controller.signal });
      for (const event of page.items) {
        noteId(event.id);
        if (seen.has(event.id)) continue;
        seen.add(event.id);
        list.append(card(event));
      }
      cursor = page.next_cursor || undefined;
      fill(status, 
        seen.size === 0 ? emptyState(asked) : cursor === undefined ? h("span.muted", {}, "You're all caught up.") : "",
      );
      if (isCachedCopy(page)) showOffline();
      loaded = true;
    } catch (error) {
      if (error.name === "AbortError") return;
      if (error.status === 400) {
        refused(error);
        return;
      }
      if (error.status === 0) showOffline(); // the banner says it: the error line would say it again
      fill(status, error.status === 0 ? null : [h("span.error", {}, error.message), " "],
        h("button.btn-ghost.btn-sm", { type: "button", onclick: loadMore }, "Retry"));
    } finally {
      loading = false;
    }
    if (loaded && cursor !== undefined && !controller.signal.aborted && sentinelInReach()) loadMore();
  }

  function showPending() {
    // Waiting events are in arrival order: prepending each in turn leaves the newest on top.
    for (const event of pending) list.prepend(card(event));
    pending = [];
    pill.hidden = true;
  }

  pill.addEventListener("click", () => {
    showPending();
    // Focus goes to the newest card (the pill it was on is gone), so keyboard and screen reader users land there.
    const first = list.firstElementChild;
    first.tabIndex = -1;
    first.focus({ preventScroll: true });
    window.scrollTo({ top: 0, behavior: "smooth" });
  });

  const atTop = () => window.scrollY < 120;
  const onScroll = () => {
    if (atTop() && pending.length) showPending();
  };
  window.addEventListener("scroll", onScroll, { passive: true });

  const streamUrl = `/api/v1/stream${query(asked)}`;
  let live = null;
  let lastId = null; // the newest event id this page has had, where a stream opened again carries on from
  const noteId = (id) => {
    if (id && (lastId === null || BigInt(id) > BigInt(lastId))) lastId = id;
  };
  function openStream() {
    const resume = lastId ? `${streamUrl.includes("?") ? "&" : "?"}last_event_id=${lastId}` : "";
    live = new EventSource(streamUrl + resume);
    live.addEventListener("event", onEvent);
    live.addEventListener("timeline", onTimeline);
    live.addEventListener("open", onOpen);
    live.addEventListener("error", onError);
  }

  function onEvent(message) {
    const event = JSON.parse(message.data);
    noteId(message.lastEventId || event.id);
    refreshProjects(); // a new project, or new counts
    if (seen.has(event.id)) return;
    seen.add(event.id);
    status.querySelector(".empty")?.remove();
    if (atTop() && !pending.length) {
      const node = card(event);
      node.classList.add("card-new");
      list.prepend(node);
    } else {
      pending.push(event);
      pill.hidden = false;
      pill.querySelector("span").textContent = `${pending.length} new`;
    }
  }
  // A card's follow-up (the stream sends cards only, unless a filter lists follow-ups too): its summary changes.
  function onTimeline(message) {
    const change = JSON.parse(message.data);
    const waiting = pending.find((event) => event.id === change.parent_id);
    if (waiting) waiting.timeline = newerTimeline(waiting.timeline, change.timeline);
    const onScreen = list.querySelector(`.card[data-id="${change.parent_id}"]`);
    if (onScreen) tellFollowUp(onScreen, change);
  }
  const liveWord = h("span.live-word");
  const liveDot = h("span.live", {}, h("span.live-dot", { "aria-hidden": "true" }), liveWord);
  let liveState = "connecting";
  const setLive = (next) => {
    liveState = next;
    liveWord.textContent = LIVE_WORDS[next];
    liveDot.title = LIVE_TITLES[next];
    liveDot.classList.toggle("live-off", next !== "live");
    liveDot.classList.toggle("live-wait", next === "reconnecting" || next === "connecting");
  };
  setLive("connecting");
  function onOpen() {
    setLive("live");
    if (stale) reload(); // the hub is back: what it has now replaces the cached or missing events
  }
  function onError() {
    // The browser retries on its own; a first drop reads as reconnecting, failing again (or no network) as offline.
    const retrying = live.readyState !== EventSource.CLOSED && liveState === "live" && navigator.onLine;
    setLive(retrying ? "reconnecting" : "offline");
    if (live.readyState === EventSource.CLOSED) whyRefused();
  }

  let hiddenTimer;
  let resting = false; // the stream was closed while the tab was hidden
  function onVisibility() {
    clearTimeout(hiddenTimer);
    if (document.visibilityState === "hidden") {
      hiddenTimer = setTimeout(() => {
        if (!live || liveState === "refused") return;
        live.close();
        live = null;
        resting = true;
      }, HIDDEN_CLOSE_AFTER);
    } else if (resting) {
      resting = false;
      setLive("connecting");
      if (lastId === null) reload(); // nothing to carry on from: what came meanwhile is on the first page
      openStream();
    }
  }
  document.addEventListener("visibilitychange", onVisibility);
  openStream();
  if (document.visibilityState === "hidden") onVisibility(); // opened in a background tab: no event says so

  /** A refused stream is not retried, and EventSource does not say why: asking again does. The session ended
   * (signed out elsewhere): the sign-in shows. Too many of this person's streams are open: the indicator says so,
   * and the page asks again every 30 s.
   * Accepted now (a proxy's passing 502): the feed starts again, live, rather than staying "Offline" for good. */
  async function whyRefused() {
    try {
      const answer = await fetch(streamUrl, { signal: controller.signal });
      await answer.body?.cancel(); // an answer that streams would run on
      if (answer.status === 429) {
        setLive("crowded");
        const again = setTimeout(whyRefused, RESTART_AFTER); // until another view is closed and this one may start
        controller.signal.addEventListener("abort", () => clearTimeout(again), { once: true });
      }
      if (answer.status === 401) await api("/api/v1/projects", { signal: controller.signal });
      if (answer.ok && Date.now() - restartedAt > RESTART_AFTER) {
        restartedAt = Date.now();
        render({ keepFocus: true, focus: false });
      }
    } catch {
      // Unreachable, or the page moved on: the indicator says offline already.
    }
  }

  /** The hub refused the filters in the address (`tag=BAD KEY:x`): trying again cannot help, removing one can. */
  function refused(error) {
    live?.close(); // its own 400 would read as offline
    setLive("refused");
    // `field` names the refused parameter: the link drops it (every tag filter, for `tag`), or all of them.
    const none = readFilters("");
    const kept = FILTER_KEYS.includes(error.field) ? { ...filters, [error.field]: none[error.field] } : none;
    fill(status, h("div.empty", {},
      h("p.error", { role: "alert" }, `Invalid filter: ${error.message}`),
      h("a", { href: filtersUrl(kept) }, "Show the feed without this filter")));
  }

  function reload() {
    stale = false;
    offline.hidden = true;
    seen.clear();
    pending = [];
    pill.hidden = true;
    list.replaceChildren();
    fill(status);
    cursor = null;
    loadMore();
  }

  const observer = new IntersectionObserver((entries) => entries[0].isIntersecting && loadMore(), { rootMargin: `${REACH}px` });
  observer.observe(sentinel);

  const scope = filters.channel ? `#${filters.channel}` : filters.project;
  // Test mode lists other events than usual: the heading says so, not only the small switch.
  const title = filters.test ? (scope ? `Test events in ${scope}` : "Test events") : scope || "All events";
  setTitle(title === "All events" ? "Feed" : title);
  const tools = toolbar(filters, change);
  window.addEventListener("hub:projects", tools.onProjects);
  fill(main, 
    h("header.page-head", {}, h("h1", {}, title), liveDot),
    tools.bar,
    activeChips(filters, change),
    channelsSlot,
    tilesSlot,
    offline,
    h("div.pill-slot", {}, pill),
    list,
    sentinel,
    status,
  );
  // Tiles and channels go in above the cards, so the first page waits for them: nothing moves afterwards.
  const above = filters.project
    ? Promise.allSettled([
        api(`/api/v1/projects/${encodeURIComponent(filters.project)}/insights`, { signal: controller.signal })
          .then((insights) => fill(tilesSlot, insightTiles(insights) || "")),
        api(`/api/v1/projects/${encodeURIComponent(filters.project)}/channels`, { signal: controller.signal })
          .then((channels) => fill(channelsSlot, channelStrip(filters, channels, change))),
      ])
    : Promise.resolve();
  above.then(() => {
    ready = true;
    if (!controller.signal.aborted) loadMore();
  });
  return () => {
    controller.abort();
    live?.close();
    clearTimeout(hiddenTimer);
    document.removeEventListener("visibilitychange", onVisibility);
    observer.disconnect();
    window.removeEventListener("scroll", onScroll);
    window.removeEventListener("hub:projects", tools.onProjects);
  };
}

function channelStrip(filters, channels, change) {
  if (!channels.length) return "";
  return h("nav.channel-strip", { "aria-label": "Channels" },
    h("button.chip", { type: "button", "aria-pressed": String(!filters.channel), onclick: () => change({ channel: "" }) }, "All"),
    // A long name is cut short (whole in its title), so that it leaves room for the others.
    channels.map((c) => h("button.chip", {
      type: "button", title: `#${c.name}`, "aria-pressed": String(filters.channel === c.name), onclick: () => change({ channel: c.name }),
    }, h("span.chip-label", {}, `#${c.name}`), h("span.count", {}, c.event_count.toLocaleString()))));
}

function emptyState(filters) {
  const filtered = filters.q || filters.channel || filters.tag.length || filters.severity || filters.user_id;
  // Only an admin can make the key that `hub send` needs; everyone else waits for events, or for a project.
  const [title, hint] = filtered
    ? ["No events match these filters", "Try a broader search or clear a filter."]
    : isAdmin()
      ? ["No events yet", ["Send the first one from a shell: ", h("code", {}, `hub send --project ${filters.project || "demo"} --event "Hello"`)]]
      : state.projects.length
        ? ["No events yet", "Events sent to your projects appear here as they arrive."]
        : ["You are not in any project yet", "Ask an admin to add you to one; its events appear here."];
  return h("div.empty", {},
    h("div.empty-icon", { "aria-hidden": "true" }, icon("feed", 26)),
    h("p.empty-title", {}, title),
    h("p.muted", {}, hint));
}
