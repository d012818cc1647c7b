// One event as a card: icon, title, channel, time, description, source highlights, tags, JSON, timeline, actions.

import { api, query } from "./api.js";
import { actionBar, refocus } from "./actions.js";
import { append, fill, h, icon, toast } from "./dom.js";
import { eventIcon } from "./icons.js";
import { jsonBlock } from "./json.js";
import { linkified, markdown } from "./markdown.js";
import { timeEl } from "./time.js";

function description(event, whole) {
  if (!event.description) return null;
  const text = event.parser === "markdown" ? markdown(event.description) : h("p.desc", {}, linkified(event.description));
  return whole ? text : clipped(text, `desc-${event.id}`);
}

/** In the feed a long description shows its first lines and a "Show more" button, so a card stays a screenful. */
function clipped(text, id) {
  const box = h("div.clip", { id }, text);
  const toggle = h("button.btn-ghost.btn-xs.clip-toggle", { type: "button", "aria-expanded": "false", "aria-controls": id, hidden: true }, "Show more");
  let open = false;
  toggle.addEventListener("click", () => {
    open = !open;
    box.classList.toggle("clip-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    toggle.textContent = open ? "Show less" : "Show more";
    if (!open) toggle.scrollIntoView({ block: "nearest" }); // not left a long way below the shortened card
  });
  // Whether it is cut is known once the card is laid out, and changes with the width (a phone turned).
  new ResizeObserver(() => {
    if (open) return;
    const cut = box.scrollHeight > box.clientHeight;
    box.classList.toggle("clip-cut", cut);
    toggle.hidden = !cut;
  }).observe(box);
  return [box, toggle];
}

function tagText(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

const FEED_TAGS = 5;

function tagChips(event, onFilter, all = false) {
  const entries = Object.entries(event.tags || {});
  if (!entries.length) return null;
  // In the feed a card shows its first few tags and a "+N" chip for the rest, so cards stay scannable.
  const shown = all || entries.length <= FEED_TAGS ? entries : entries.slice(0, FEED_TAGS - 1);
  const more = entries.length - shown.length;
  const list = h(
    "ul.tags",
    { "aria-label": "Tags" },
    more
      ? h("li", {}, h("button.chip.chip-more", { type: "button", title: "Show all tags", onclick: () => {
        const full = tagChips(event, onFilter, true);
        list.replaceWith(full);
        full.querySelectorAll("button")[shown.length]?.focus();
      } }, `+${more}`))
      : null,
  );
  list.prepend(...shown.map(([key, value]) =>
      h(
        "li",
        {},
        h(
          "button.chip",
          { type: "button", title: `Show events tagged ${key}: ${tagText(value)}`, onclick: () => onFilter?.({ tag: `${key}:${tagText(value)}` }) },
          h("span.chip-key", {}, key),
          h("span.chip-val", {}, tagText(value)),
        ),
      ),
  ));
  return list;
}

function money(amount, currency) {
  try {
    const format = new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() });
    const digits = format.resolvedOptions().maximumFractionDigits;
    return format.format(amount / 10 ** digits);
  } catch {
    return `${amount} ${currency}`;
  }
}

/** Stripe and GitHub events get their key facts up front: the amount, the repository. */
function highlight(event) {
  const content = event.content && typeof event.content === "object" ? event.content : {};
  if (event.source === "stripe") {
    // An unpaid invoice's figure is what is due, not the 0 paid so far.
    const paid = typeof content.amount_paid === "number" && content.amount_paid > 0 ? content.amount_paid : undefined;
    const amount = content.amount ?? content.amount_total ?? paid ?? content.amount_due ?? content.amount_paid;
    const currency = content.currency || event.tags?.currency;
    if (typeof amount === "number" && typeof currency === "string") {
      return h("div.highlight", {}, h("span.amount", {}, money(amount, currency)), event.tags?.status ? h("span.badge", {}, event.tags.status) : null);
    }
  }
  if (event.source === "github" && event.tags?.repo) {
    // The repository and branch up front; the links to GitHub are the card's action buttons.
    const repo = String(event.tags.repo);
    const branch = event.tags.branch ? String(event.tags.branch) : null;
    return h(
      "div.highlight",
      {},
      h("a.repo", { href: `https://github.com/${repo}`, target: "_blank", rel: "noopener noreferrer" }, icon("code", 14), repo),
      branch ? h("span.badge", {}, branch) : null,
    );
  }
  return null;
}

/** An item of a "·"-separated line after its first: with its separator, so a line never ends in a lone "·". */
function separated(node) {
  return h("span.meta-item", {}, h("span.sep", { "aria-hidden": "true" }, "·"), node);
}

/** Severity in words, not only the colour: "warning", "critical" (info goes without). */
function severityBadge(event) {
  return event.severity !== "info" ? h(`span.badge.sev-${event.severity}`, {}, event.severity) : null;
}

function meta(event, onFilter) {
  const filterButton = (label, change, title) =>
    h("button.meta-link", { type: "button", title, onclick: () => onFilter?.(change) }, label);
  return h(
    "div.card-meta",
    {},
    filterButton(`#${event.channel}`, { project: event.project, channel: event.channel }, `Show #${event.channel}`),
    separated(filterButton(event.project, { project: event.project }, `Show project ${event.project}`)),
    event.user_id ? separated(filterButton(event.user_id, { user_id: event.user_id }, `Show events of ${event.user_id}`)) : null,
    // A follow-up listed on its own (a search, or Critical) says which timeline it belongs to.
    event.parent_id ? separated(h("a.meta-link", { href: `/events/${event.parent_id}` }, "in a timeline")) : null,
    event.source !== "api" ? h("span.badge", {}, event.source) : null,
    severityBadge(event),
    event.test ? h("span.badge.badge-test", {}, "test") : null,
  );
}

function timelineItem(child, onFilter) {
  const badge = severityBadge(child);
  return h(
    `li.tl-item.sev-${child.severity}`,
    {},
    h("span.tl-dot", { "aria-hidden": "true" }, eventIcon(child)),
    h(
      "div.tl-body",
      {},
      h("div.tl-head", {}, h("a.tl-title", { href: `/events/${child.id}` }, child.event), timeEl(child.created_at)),
      badge ? h("div.tl-meta", {}, badge) : null,
      description(child, true),
      tagChips(child, onFilter),
    ),
  );
}

// The feed's stream tells an open timeline of new follow-ups at once; this check finds the ones it could not: on
// the event's own page, which has no stream, and while a stream is down.
const FOLLOW_UPS_EVERY_MS = 5000;

/** A context's events, oldest first, from the card's detail answer; the API gives them 500 at a time, and a
 * button fetches the next ones while there are more. Once loaded to its end, the timeline checks for new
 * follow-ups while it is on the screen, and `follow` adds one the stream told of. */
export function timeline(parentId, { children, next_children_cursor: next }, onFilter) {
  const shown = new Set();
  const list = h("ol.timeline", { "aria-label": "Context timeline" });
  const none = h("p.muted.small", {}, "No follow-up events in this context yet.");
  const add = (items) => {
    const fresh = items.filter((child) => !shown.has(child.id));
    for (const child of fresh) shown.add(child.id);
    append(list, fresh.map((child) => timelineItem(child, onFilter)));
    if (shown.size) none.remove();
  };
  let cursor = next; // the next page, while there are more
  let lastPage = null; // what the last loaded page was asked with (null: the first page); new follow-ups join it
  const more = h("button.btn-ghost.btn-sm", { type: "button", hidden: !cursor }, "Show later events");
  const load = async (pageCursor) => {
    const page = await api(`/api/v1/events/${encodeURIComponent(parentId)}${query({ children_cursor: pageCursor })}`);
    add(page.children);
    lastPage = pageCursor;
    cursor = page.next_children_cursor;
    more.hidden = !cursor;
  };
  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      await load(cursor);
      more.textContent = "Show later events";
    } catch (error) {
      more.textContent = `Could not load more (${error.message}) — retry`;
    } finally {
      more.disabled = false;
    }
  });
  const box = h("div.timeline-box", {}, none, list, more);
  add(children); // once `none` is in the box, so that follow-ups take it away
  const timer = setInterval(() => {
    if (!box.isConnected) clearInterval(timer);
    else if (!cursor && !document.hidden) load(lastPage).catch(() => {});
  }, FOLLOW_UPS_EVERY_MS);
  // Only at the end of what is loaded: with later events still to load, it would come before them.
  const follow = (child) => cursor || add([child]);
  return { box, follow };
}

const SEVERITY_RANK = { info: 0, warning: 1, critical: 2 };

/** The summary to show: the one counting more follow-ups (a stream's message can be older than the page). */
export function newerTimeline(current, incoming) {
  return current && current.events >= incoming.events ? current : incoming;
}

/** "3 follow-ups · latest 2m ago", and the worst of them in words and colour unless it is info. */
function timelineSummary(summary) {
  if (!summary) return [];
  const count = summary.events === 1 ? "1 follow-up" : `${summary.events.toLocaleString()} follow-ups`;
  return [
    h("span", {}, count),
    separated(h("span", {}, "latest ", timeEl(summary.last_at))),
    summary.severity !== "info" ? separated(h(`span.badge.sev-${summary.severity}`, {}, `worst: ${summary.severity}`)) : null,
  ];
}

// How each card's context section hears of a follow-up the stream told of (see `tellFollowUp`).
const followUpListeners = new WeakMap();

/** Tell a card on screen of a stream's `timeline` message: its summary changes, an open timeline gains the
 * follow-up, and a warning or critical one marks the card until its timeline is opened. */
export function tellFollowUp(card, change) {
  followUpListeners.get(card.querySelector(".context"))?.(change);
}

/** "New critical follow-up" on a card, in words and colour; `set("info")` takes it away. */
function followUpMark(box) {
  const badge = h("span.badge.tl-new", { hidden: true });
  const set = (severity) => {
    badge.hidden = severity === "info";
    badge.className = `badge tl-new sev-${severity}`;
    badge.textContent = `New ${severity} follow-up`;
    const card = box.closest(".card");
    card?.classList.remove("tl-new-warning", "tl-new-critical");
    if (severity !== "info") card?.classList.add(`tl-new-${severity}`);
  };
  return { badge, set };
}

function contextSection(event, detail, onFilter) {
  if (!event.context_id || event.parent_id) return null;
  const box = h("div.context");
  let open = null; // the timeline, once shown
  let summed = event.timeline || null;
  let marked = "info"; // the worst follow-up heard of since the card was drawn or its timeline opened
  const heard = new Set(); // a reconnecting stream tells of some follow-ups again
  const summary = h("span.tl-summary", {}, timelineSummary(summed));
  const mark = followUpMark(box);
  const show = (detail) => {
    open = timeline(event.id, detail, onFilter);
    fill(box, h("div.context-head", { tabindex: "-1" }, "Timeline"), open.box);
    marked = "info";
    mark.set("info");
  };
  followUpListeners.set(box, (change) => {
    summed = newerTimeline(summed, change.timeline);
    fill(summary, timelineSummary(summed));
    open?.follow(change.event);
    const { id, severity, event: title } = change.event;
    if (heard.has(id)) return;
    heard.add(id);
    if (SEVERITY_RANK[severity] <= SEVERITY_RANK[marked]) return; // info, or said already
    marked = severity;
    // Said politely, once per step up (a warning, then a critical), however many follow-ups come.
    toast(`New ${severity} follow-up in “${event.event}”: ${title}`);
    if (!open) mark.set(severity); // an open timeline shows it already
  });
  if (detail) {
    show(detail);
    return box;
  }
  const button = h("button.btn-ghost.btn-sm", { type: "button", "aria-expanded": "false" }, "Show timeline");
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = "Loading…";
    try {
      show(await api(`/api/v1/events/${encodeURIComponent(event.id)}`));
      refocus(box.querySelector(".context-head")); // the button it was on is gone: on from the timeline it opened
    } catch (error) {
      button.disabled = false;
      button.textContent = `Could not load the timeline (${error.message}) — retry`;
    }
  });
  box.append(h("div.context-line", {}, button, summary, mark.badge));
  return box;
}

/** The card; `detail` given (the permalink page's answer) shows the timeline open, `onFilter` makes chips filter
 * the feed. Its title is a heading under the page's h1, or the h1 itself on the event's own page (`heading`). */
export function eventCard(event, { onFilter, detail = null, expanded = false, heading = "h2" } = {}) {
  const hasContent = event.content !== null && event.content !== undefined;
  return h(
    `article.card.sev-${event.severity}`,
    { dataset: { id: event.id } },
    h("div.card-icon", { "aria-hidden": "true" }, eventIcon(event)),
    h(
      "div.card-body",
      {},
      h("header.card-head", {}, h(`${heading}.card-title`, {}, h("a", { href: `/events/${event.id}` }, event.event)), timeEl(event.created_at)),
      meta(event, onFilter),
      highlight(event),
      description(event, expanded),
      tagChips(event, onFilter, expanded),
      hasContent ? jsonBlock(event.content, { open: expanded }) : null,
      contextSection(event, detail, onFilter),
      actionBar(event),
    ),
  );
}
