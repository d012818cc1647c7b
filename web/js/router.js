// Client-side routing with the history API: links inside the app navigate without a reload.

const routes = [];
let cleanup = null;
let renderShell = () => {};

/** A page for a path pattern (`/events/:id`); `title` is the tab's title while it is open (a page may refine it,
 * as the event page does with the event's title). */
export function route(pattern, page, title) {
  const names = [];
  const regex = new RegExp(`^${pattern.replace(/:(\w+)/g, (_, name) => (names.push(name), "([^/]+)"))}/?$`);
  routes.push({ regex, names, page, title });
}

export function setTitle(title) {
  document.title = title ? `${title} · hub` : "hub";
}

export function onRender(callback) {
  renderShell = callback;
}

/** Render the page for the address. Focus then goes to the page itself (#main), so keyboard and screen reader
 * users start there rather than at the top of the document; `keepFocus` keeps it on the control being used (the
 * search box being typed in, the project picker walked with the arrow keys): the new page's element with the
 * same `data-focus-key`. `focus: false` (the first page) leaves the skip link first in the Tab order. */
export function render({ keepFocus = false, focus = true } = {}) {
  const main = document.getElementById("main");
  cleanup?.();
  cleanup = null;
  for (const { regex, names, page, title } of routes) {
    const match = regex.exec(location.pathname);
    if (!match) continue;
    const params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(match[i + 1])]));
    const active = document.activeElement;
    const focusKey = active?.dataset?.focusKey;
    const caret = active?.selectionStart;
    renderShell(location.pathname);
    setTitle(title);
    cleanup = page(main, params) || null;
    const again = keepFocus && focusKey ? main.querySelector(`[data-focus-key="${focusKey}"]`) : null;
    if (again) {
      again.focus();
      if (typeof caret === "number") again.setSelectionRange(caret, caret);
    } else if (focus) {
      main.focus({ preventScroll: true });
    }
    return;
  }
  // No page here (a mistyped or old address): the navigation stays, so there is a way on.
  renderShell(location.pathname);
  setTitle("Page not found");
  const box = Object.assign(document.createElement("div"), { className: "empty" });
  const heading = Object.assign(document.createElement("h1"), { className: "empty-title", textContent: "This page does not exist." });
  const home = Object.assign(document.createElement("a"), { href: "/", textContent: "Go to the feed" });
  box.append(heading, home);
  main.replaceChildren(box);
}

/** Stop the page being shown (its timers, streams and requests), for a view the router does not draw: the sign-in
 * page, which the page's refresh timer would otherwise draw again every 30 s, wiping what is being typed. */
export function leavePage() {
  cleanup?.();
  cleanup = null;
}

export function navigate(url, { replace = false, keepFocus = false } = {}) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  render({ keepFocus });
  if (!replace) window.scrollTo(0, 0);
}

export function startRouter() {
  window.addEventListener("popstate", () => render());
  document.addEventListener("click", (event) => {
    const link = event.target.closest?.("a[href]");
    if (!link || link.target || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    if (link.getAttribute("href").startsWith("#")) {
      // An in-page link (Skip to content): move focus there without touching the address or the page.
      event.preventDefault();
      document.getElementById(link.getAttribute("href").slice(1))?.focus();
      return;
    }
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith("/api/")) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
  render({ focus: false });
}
