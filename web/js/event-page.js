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
        eventCard(event, { onFilter: toFeed, detail: event.context_id && !event.parent_id ? detail : null, expanded: true }),
      );
    })
    .catch((error) => {
      if (error.name === "AbortError") return;
      fill(main, h("div.empty", {}, h("p.empty-title", {}, error.status === 404 ? "Event not found" : "Could not load this event"), h("p.muted", {}, error.message)));
    });
  return () => controller.abort();
}
