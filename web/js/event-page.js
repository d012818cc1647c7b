// The permalink page of one event: the full card, JSON open, and its context timeline.

import { api } from "./api.js";
import { eventCard } from "./card.js";
import { copyButton } from "./copy.js";
import { fill, h, icon } from "./dom.js";
import { navigate, setTitle } from "./router.js";

export function eventPage(main, { id }) {
  const controller = new AbortController();
  fill(main, h("p.loading", {}, "Loading event…"));
  const toFeed = (patch) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(patch)) if (value) params.append(key, value);
    navigate(`/?${params}`);
  };
  api(`/api/v1/events/${encodeURIComponent(id)}`, { signal: controller.signal })
    .then((detail) => {
      const { event } = detail;
      setTitle(event.event);
      fill(main, 
        h("header.page-head", {}, h("a.back", { href: "/" }, icon("feed", 16), "Feed"),
          copyButton(() => location.href, { label: "Copy link", done: "Link copied", spec: "button.btn-ghost.btn-sm", iconName: "link" })),
        eventCard(event, { onFilter: toFeed, detail: event.context_id && !event.parent_id ? detail : null, expanded: true, heading: "h1" }),
      );
    })
    .catch((error) => {
      if (error.name === "AbortError") return;
      const missing = error.status === 404;
      setTitle(missing ? "Event not found" : "Event");
      fill(main,
        h("header.page-head", {}, h("a.back", { href: "/" }, icon("feed", 16), "Feed")),
        h("div.empty", {},
          h("h1.empty-title", {}, missing ? "Event not found" : "Could not load this event"),
          h("p.muted", {}, missing ? "It was deleted after the retention period, it is in a project you do not see, or the link is wrong." : error.message),
          missing ? null : h("button.btn.btn-sm", { type: "button", onclick: () => navigate(location.pathname, { replace: true }) }, "Try again")));
    });
  return () => controller.abort();
}
