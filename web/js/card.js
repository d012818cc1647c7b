// One event as a card: icon, title, channel, time, description, source highlights, tags, JSON, timeline, actions.

import { api, query } from "./api.js";
import { actionBar } from "./actions.js";
import { append, fill, h, icon } from "./dom.js";
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

/** Severity in words, not only the colour: "warning", "critical" (info goes without). */
function severityBadge(event) {
  return event.severity !== "info" ? h(`span.badge.sev-${event.severity}`, {}, event.severity) : null;
}

function meta(event, onFilter) {
  const filterButton = (label, change, title) =>
    h("button.meta-link", { type: "button", title, onclick: () => onFilter?.(change) }, label);
  // Each item after the first comes with its separator, so a line never ends in a lone "·".
  const after = (node) => h("span.meta-item", {}, h("span.sep", { "aria-hidden": "true" }, "·"), node);
  return h(
    "div.card-meta",
    {},
    filterButton(`#${event.channel}`, { project: event.project, channel: event.channel }, `Show #${event.channel}`),
    after(filterButton(event.project, { project: event.project }, `Show project ${event.project}`)),
    event.user_id ? after(filterButton(event.user_id, { user_id: event.user_id }, `Show events of ${event.user_id}`)) : null,
    // A follow-up listed on its own (a search, or Critical) says which timeline it belongs to.
    event.parent_id ? after(h("a.meta-link", { href: `/events/${event.parent_id}` }, "in a timeline")) : null,
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

// The live stream carries top-level events only, so an open timeline asks for new follow-ups this often.
const FOLLOW_UPS_EVERY_MS = 5000;

/** A context's events, oldest first, from the card's detail answer; the API gives them 500 at a time, and a
 * button fetches the next ones while there are more. Once loaded to its end, the timeline checks for new
 * follow-ups while it is on the screen. */
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
  return box;
}

function contextSection(event, detail, onFilter) {
  if (!event.context_id || event.parent_id) return null;
  const box = h("div.context");
  if (detail) {
    box.append(h("div.context-head", {}, "Timeline"), timeline(event.id, detail, onFilter));
    return box;
  }
  const button = h("button.btn-ghost.btn-sm", { type: "button", "aria-expanded": "false" }, "Show timeline");
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = "Loading…";
    try {
      const detail = await api(`/api/v1/events/${encodeURIComponent(event.id)}`);
      fill(box, h("div.context-head", {}, "Timeline"), timeline(event.id, detail, onFilter));
    } catch (error) {
      button.disabled = false;
      button.textContent = `Could not load the timeline (${error.message}) — retry`;
    }
  });
  box.append(button);
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
